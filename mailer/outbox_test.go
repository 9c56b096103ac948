package mailer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// outboxEntries lists the names in dir, failing on temporary files.
func outboxEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
		names = append(names, e.Name())
	}
	return names
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		id       string
		sends    int // sequential sends of the same message
		parallel int // concurrent sends of the same message
		wantFile string
	}{
		{"once", "lead-1.new@partner.example", 1, 0, "lead-1.new_partner.example.eml"},
		{"twice", "lead-1.new@partner.example", 2, 0, "lead-1.new_partner.example.eml"},
		{"concurrently", "lead-2.digest@partner.example", 0, 16, "lead-2.digest_partner.example.eml"},
		{"path traversal", "../../etc/passwd", 1, 0, ".._.._etc_passwd.eml"},
		{"separators and spaces", `a/b\c d:e`, 1, 0, "a_b_c_d_e.eml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := filepath.Join(root, "nested", "outbox")
			out, err := NewOutbox(dir)
			if err != nil {
				t.Fatalf("NewOutbox: %v", err)
			}
			m := testMessage(tt.id)
			ml := New(out)
			for range tt.sends {
				if err := ml.Send(context.Background(), m); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, tt.parallel)
			for range tt.parallel {
				wg.Go(func() { errs <- ml.Send(context.Background(), m) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("concurrent Send: %v", err)
				}
			}

			if names := outboxEntries(t, dir); len(names) != 1 || names[0] != tt.wantFile {
				t.Fatalf("outbox holds %q, want exactly [%s]", names, tt.wantFile)
			}
			if rootEntries, _ := os.ReadDir(root); len(rootEntries) != 1 {
				t.Errorf("files written outside the outbox: %v", rootEntries)
			}
			data, err := os.ReadFile(filepath.Join(dir, tt.wantFile))
			if err != nil {
				t.Fatal(err)
			}
			msg := parseRaw(t, data)
			if got, want := msg.Header.Get("Message-Id"), "<"+tt.id+">"; got != want {
				t.Errorf("Message-Id = %q, want %q", got, want)
			}
			// Every write is the same message bar its boundary and Date,
			// so a torn or interleaved write shows as a wrong length or a
			// parse failure.
			raw, err := m.Build()
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != len(raw) || !bytes.HasSuffix(data, []byte("--\r\n")) {
				t.Errorf("file is %d bytes, a built message %d", len(data), len(raw))
			}
		})
	}
}

func TestOutboxWritesRawBytes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := testMessage("raw@partner.example").Build()
	if err != nil {
		t.Fatal(err)
	}
	env := Envelope{From: "leads@partner.example", To: "sales@customer.example", MessageID: "raw@partner.example"}
	if err := out.Send(context.Background(), env, raw); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "raw_partner.example.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, raw) {
		t.Errorf("file differs from the bytes sent")
	}
	if err := out.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	outboxEntries(t, dir)
}

func TestOutboxFailedWriteLeavesNoTempFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A directory where the file should go makes the rename fail.
	if err := os.Mkdir(filepath.Join(dir, "blocked_partner.example.eml"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := New(out).Send(context.Background(), testMessage("blocked@partner.example")); err == nil {
		t.Fatal("Send succeeded onto a directory")
	}
	if names := outboxEntries(t, dir); len(names) != 1 {
		t.Errorf("outbox holds %q, want only the directory", names)
	}
}
