//go:build unix

package pki

import "syscall"

// Open flags of OpenFile: the open fails on a symbolic link, and does not wait for a
// reader when a FIFO sits at the name.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
