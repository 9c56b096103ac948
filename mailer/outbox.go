package mailer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Outbox writes each message as an .eml file into a folder instead of
// sending it. Files are written atomically (temporary file, then rename)
// and named after the Message-ID, so sending the same message twice leaves
// one file.
type Outbox struct {
	dir string
}

// NewOutbox returns an outbox writing into dir, creating it if needed.
func NewOutbox(dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create outbox %s: %w", dir, err)
	}
	return &Outbox{dir: dir}, nil
}

// Send writes raw to <dir>/<message id>.eml.
func (o *Outbox) Send(_ context.Context, env Envelope, raw []byte) error {
	name := fileName(env.MessageID) + ".eml"
	tmp, err := os.CreateTemp(o.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox: write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("outbox: write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(o.dir, name)); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// Close does nothing.
func (o *Outbox) Close() error { return nil }

// fileName keeps letters, digits, '.', '-' and '_' and replaces the rest.
func fileName(id string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, id)
}
