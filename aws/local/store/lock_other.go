//go:build !unix

package store

import "os"

// Without flock the directory is not locked against other processes.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlock(*os.File) {}
