package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File names the AWS walkthrough uses (and the wizard writes in its workspace).
const (
	FileCAKey        = "deviceRootCA.key"
	FileCAConf       = "deviceRootCA_openssl.conf"
	FileCACSR        = "deviceRootCA.csr"
	FileCACert       = "deviceRootCA.pem"
	FileCASerial     = "deviceRootCA.srl" // written by openssl -CAcreateserial (not by pki)
	FileVerifKey     = "verificationCert.key"
	FileVerifCSR     = "verificationCert.csr"
	FileVerifCert    = "verificationCert.crt"
	FileDeviceKey    = "deviceCert.key"
	FileDeviceCSR    = "deviceCert.csr"
	FileDeviceCert   = "deviceCert.crt"
	FileDeviceBundle = "deviceCertAndCACert.crt"
	FileServerRootCA = "awsRootCA.pem"
	DirMode          = 0o700 // workspace directory
	KeyMode          = 0o600 // private keys
	CertMode         = 0o644 // certificates, CSRs, conf, bundles
)

// EnsureWorkspace creates dir (and parents) with mode 0700. If dir already exists with
// group or other permissions, they are removed (chmod 0700): the workspace holds private
// keys, and a readable directory at least leaks their names and lets others list and
// copy anything written with looser modes by other tools. A path that exists but is not
// a directory, or whose mode cannot be changed, is an error naming the path and the fix.
func EnsureWorkspace(dir string) error {
	if dir == "" {
		return fieldError(FieldWorkspace, "", ReasonWorkspaceEmpty)
	}
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return errorWith(err, "err.workspace-create", "Dir", dir)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return errorWith(err, "err.workspace", "Dir", dir)
	}
	if !fi.IsDir() {
		return errorWith(nil, "err.workspace-not-dir", "Dir", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, fi.Mode().Perm()&0o700|0o700); err != nil {
			return errorWith(err, "err.workspace-mode", "Dir", dir, "Mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
		}
	}
	return nil
}

// WriteFile writes data to path atomically: a temporary file in the same directory is
// written, chmod'ed to mode, fsynced, then moved into place, and the directory is fsynced.
// Readers never see a partial file and no temporary file is left behind on error (one
// left by a killed process is removed by RemoveStaleTemps). The temporary file is created
// 0600 with O_EXCL (os.CreateTemp), so a key is never readable by others, not even
// while it is written, and a link at its name is never followed.
// When overwrite is false and path exists, nothing is written and the error is an
// *ExistsError (errors.Is(err, ErrExists)); the check is race-free (hard link).
// A symbolic link, directory or other non-regular file at path is refused with a
// *NotRegularError, even with overwrite (see safeopen.go).
func WriteFile(path string, data []byte, mode os.FileMode, overwrite bool) (err error) {
	dir := filepath.Dir(path)
	if fi, statErr := os.Lstat(path); statErr == nil {
		if err := notRegular(path, fi); err != nil {
			return err
		}
		if !overwrite {
			return &ExistsError{Path: path}
		}
	}
	tmp, err := os.CreateTemp(dir, tempPattern(filepath.Base(path)))
	if err != nil {
		return writeError(path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err = tmp.Chmod(mode); err != nil {
		return writeError(path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return writeError(path, err)
	}
	if err = tmp.Sync(); err != nil {
		return writeError(path, err)
	}
	if testHookTempWritten != nil {
		testHookTempWritten(tmpName)
	}
	if err = tmp.Close(); err != nil {
		return writeError(path, err)
	}
	if overwrite {
		if err = os.Rename(tmpName, path); err != nil {
			return writeError(path, err)
		}
	} else {
		// Link fails if path appeared meanwhile; that is the no-overwrite guarantee.
		if linkErr := os.Link(tmpName, path); linkErr != nil {
			if errors.Is(linkErr, fs.ErrExist) {
				err = &ExistsError{Path: path}
				return err
			}
			// File systems without hard links: fall back to a checked rename.
			if _, statErr := os.Lstat(path); statErr == nil {
				err = &ExistsError{Path: path}
				return err
			}
			if err = os.Rename(tmpName, path); err != nil {
				return writeError(path, err)
			}
		} else {
			os.Remove(tmpName)
		}
	}
	syncDir(dir)
	return nil
}

// testHookTempWritten, set only by tests, runs once the temporary file holds the data
// and before it is moved into place (where a killed process leaves it behind).
var testHookTempWritten func(tmp string)

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// FileExists reports whether path exists (any type).
func FileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// writeError is a failed write of path.
func writeError(path string, err error) error { return errorWith(err, "err.write", "Path", path) }
