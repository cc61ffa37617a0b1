//go:build !unix

package pki

// Without O_NOFOLLOW, OpenFile relies on its Lstat check before the open and the
// Stat check after it.
const openFlags = 0
