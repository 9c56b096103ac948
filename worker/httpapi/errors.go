package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/redis/go-redis/v9"
)

// HTTP-only error codes, next to the domain codes of package jobs.
const (
	eUnauthorized     = "unauthorized"
	eTooLarge         = "too_large"
	eMediaType        = "unsupported_media_type"
	eMethodNotAllowed = "method_not_allowed"
	eUnavailable      = "unavailable"
)

// statusOf maps every error code to its HTTP status; statusFor answers 500
// for a code it lacks.
var statusOf = map[string]int{
	leadworker.EInvalid:  http.StatusBadRequest,
	leadworker.ENotFound: http.StatusNotFound,
	leadworker.EConflict: http.StatusConflict,
	leadworker.EInternal: http.StatusInternalServerError,
	eUnauthorized:        http.StatusUnauthorized,
	eTooLarge:            http.StatusRequestEntityTooLarge,
	eMediaType:           http.StatusUnsupportedMediaType,
	eMethodNotAllowed:    http.StatusMethodNotAllowed,
	eUnavailable:         http.StatusServiceUnavailable,
}

// statusFor is the HTTP status of an error code: 500 for a code statusOf
// does not list, so a new code can never make the API answer nonsense.
func statusFor(code string) int {
	if status, ok := statusOf[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON form of every error the API returns.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// toErrorBody turns any error into what the client sees. Errors that are not
// *leadworker.Error are internal, or "unavailable" when Redis cannot be reached:
// their details go to the log, not the client.
func toErrorBody(err error) errorBody {
	var e *leadworker.Error
	switch {
	case errors.As(err, &e):
		return errorBody{Code: e.Code, Message: e.Message, Field: e.Field}
	case unreachable(err):
		return errorBody{Code: eUnavailable, Message: "the lead store is unavailable; nothing was changed, try again shortly"}
	}
	return errorBody{Code: leadworker.EInternal, Message: "internal error; the server log has the details"}
}

// unreachable reports errors of a Redis that cannot be reached: refused or
// broken connections, timeouts, an exhausted connection pool.
func unreachable(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, redis.ErrPoolTimeout) || redis.IsLoadingError(err)
}

// writeError answers with err as a JSON error and logs server-side failures.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	body := toErrorBody(err)
	status := statusFor(body.Code)
	if status >= 500 {
		a.Log.WithError(err).WithField("path", r.URL.Path).Error("request failed")
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="leadworker"`)
	}
	writeJSON(w, status, map[string]errorBody{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads one JSON value of at most limit bytes into dst, refusing
// unknown fields and trailing data, with errors that name the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if err := checkJSONType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return decodeError(err, limit, nil)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, limit, raw)
	}
	if _, err := dec.Token(); err != io.EOF {
		return leadworker.Invalidf("", "the body must hold exactly one JSON value")
	}
	return nil
}

// checkJSONType refuses a body sent as anything but JSON; a body without
// a Content-Type is read as JSON.
func checkJSONType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return &leadworker.Error{Code: eMediaType, Message: fmt.Sprintf("the body must be JSON: send Content-Type: application/json, not %q", ct)}
}

// decodeError explains a JSON decoding failure in terms of the request;
// raw, when given, is the body, to find a bad time's field in.
func decodeError(err error, limit int64, raw []byte) error {
	var (
		syntax    *json.SyntaxError
		typ       *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
		timeParse *time.ParseError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &tooLarge):
		return &leadworker.Error{Code: eTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", limit)}
	case errors.As(err, &netErr) && netErr.Timeout():
		return leadworker.Invalidf("", "the body did not arrive within the server's read timeout")
	case errors.Is(err, io.EOF):
		return leadworker.Invalidf("", "the body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return leadworker.Invalidf("", "the body is not valid JSON: %v", err)
	case errors.As(err, &typ) && typ.Field == "":
		return leadworker.Invalidf("", "the body must be a JSON object, not a JSON %s", typ.Value)
	case errors.As(err, &typ) && typ.Type == reflect.TypeFor[leadworker.Amount]():
		return leadworker.Invalidf(typ.Field, "%s must be a number or a decimal string such as 25000 or \"1999.99\", not a JSON %s", typ.Field, typ.Value)
	case errors.As(err, &typ):
		return leadworker.Invalidf(typ.Field, "%s must be %s, not a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &timeParse) || badTime(raw) != "":
		field := cmp.Or(badTime(raw), "created_at")
		return leadworker.Invalidf(field, "%s must be an RFC 3339 time such as 2026-11-20T10:00:00Z", field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return leadworker.Invalidf(field, "unknown field %q", field)
	}
	return leadworker.Invalidf("", "the body could not be read as JSON")
}

// badTime returns the path of the first member of raw named "…_at" whose
// value is neither null nor an RFC 3339 time ("" when there is none): the
// decoder's errors for times do not name their field.
func badTime(raw []byte) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return badTimeIn(v, "")
}

func badTimeIn(v any, path string) string {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p := strings.TrimPrefix(path+"."+k, ".")
			if strings.HasSuffix(k, "_at") && v[k] != nil && !isTime(v[k]) {
				return p
			}
			if f := badTimeIn(v[k], p); f != "" {
				return f
			}
		}
	case []any:
		for i, e := range v {
			if f := badTimeIn(e, fmt.Sprintf("%s[%d]", path, i)); f != "" {
				return f
			}
		}
	}
	return ""
}

func isTime(v any) bool {
	s, ok := v.(string)
	_, err := time.Parse(time.RFC3339, s)
	return ok && err == nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}
