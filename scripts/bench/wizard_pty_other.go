//go:build !linux

package main

import "errors"

// benchWizardPTY needs Linux's pseudo-terminals (testtool.StartPTY).
func benchWizardPTY(config, string, *report) error {
	return errors.New("the wizard's pseudo-terminal measurement needs Linux")
}
