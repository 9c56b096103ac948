package mailer

import (
	"bufio"
	"bytes"
	"testing"
)

func TestWriteDotted(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"crlf lines", "a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{"bare lf", "a\nb\n", "a\r\nb\r\n.\r\n"},
		{"no final newline", "a\r\nb", "a\r\nb\r\n.\r\n"},
		{"leading dots doubled", ".a\r\n..b\r\nc.\r\n.\r\n", "..a\r\n...b\r\nc.\r\n..\r\n.\r\n"},
		{"empty lines kept", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n.\r\n"},
		{"empty message", "", ".\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := writeDotted(bufio.NewWriter(&out), []byte(tt.in)); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Fatalf("writeDotted(%q) = %q, want %q", tt.in, out.String(), tt.want)
			}
		})
	}
}
