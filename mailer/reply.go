package mailer

import (
	"errors"
	"fmt"
	"regexp"
)

// ReplyError is an SMTP server's refusal: its reply code and enhanced
// status code (RFC 3463), such as 550 5.1.1. Its text is kept apart, in
// Text, and left out of Error: servers often quote the recipient's address
// there, and an error's text is stored with the task, recorded on the lead
// and shown by readiness. Log Text at debug level only.
type ReplyError struct {
	Code     int
	Enhanced string // "" when the server gave none
	Text     string
}

// Error names the codes only.
func (e *ReplyError) Error() string {
	if e.Enhanced == "" {
		return fmt.Sprintf("smtp %d", e.Code)
	}
	return fmt.Sprintf("smtp %d %s", e.Code, e.Enhanced)
}

// Is makes a 5xx reply an ErrPermanent, and a 552 (RFC 5321: exceeded
// storage allocation, what servers answer a message over their size
// limit) an ErrTooLarge too.
func (e *ReplyError) Is(target error) bool {
	return (target == ErrPermanent && e.Code >= 500) || (target == ErrTooLarge && e.Code == 552)
}

// ErrTooLarge marks a message larger than the server takes: the SIZE it
// advertised, or its 552 reply. It is permanent for that message; a
// smaller one may go through.
var ErrTooLarge = errors.New("message larger than the mail server accepts")

// SizeError is a message refused before it was sent because it is larger
// than the SIZE the server advertised (RFC 1870).
type SizeError struct {
	Size, Limit int64
}

// Error gives both sizes.
func (e *SizeError) Error() string {
	return fmt.Sprintf("message of %d bytes is larger than the server's SIZE %d", e.Size, e.Limit)
}

// Is makes a SizeError both an ErrTooLarge and an ErrPermanent.
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge || target == ErrPermanent }

// enhancedCode matches an RFC 3463 status code at the start of a reply.
var enhancedCode = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3})\b`)

func newReplyError(code int, msg string) *ReplyError {
	e := &ReplyError{Code: code, Text: msg}
	if m := enhancedCode.FindStringSubmatch(msg); m != nil {
		e.Enhanced = m[1]
	}
	return e
}
