package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons used in error bodies.
const (
	reasonNotFound     = "NotFound"
	reasonForbidden    = "Forbidden"
	reasonInvalid      = "Invalid"
	reasonConflict     = "Conflict"
	reasonUnauthorized = "Unauthorized"
	reasonBadRequest   = "BadRequest"
	reasonTooLarge     = "RequestEntityTooLarge"
	reasonInternal     = "InternalError"
	reasonUnavailable  = "ServiceUnavailable"
)

// apiError is the JSON body of every failed request.
type apiError struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

func errorf(code int, reason, format string, args ...any) *apiError {
	return &apiError{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, reasonBadRequest, format, args...)
}

// notFound is the one answer for objects that are missing and for objects the caller
// may not see, so names in other projects cannot be probed.
func notFound(kind, name, project string) *apiError {
	if kind == "Project" {
		return errorf(http.StatusNotFound, reasonNotFound, "Project %q not found", project)
	}
	return errorf(http.StatusNotFound, reasonNotFound, "%s %q not found in project %q", kind, name, project)
}

// fromKube converts an error from the Kubernetes API into an apiError, keeping the API
// server's message, which names the object and field.
func fromKube(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		code := int(st.Code)
		reason := reasonInternal
		switch st.Reason {
		case metav1.StatusReasonNotFound:
			reason = reasonNotFound
		case metav1.StatusReasonForbidden:
			reason = reasonForbidden
		case metav1.StatusReasonInvalid:
			reason = reasonInvalid
		case metav1.StatusReasonConflict, metav1.StatusReasonAlreadyExists:
			reason = reasonConflict
		case metav1.StatusReasonUnauthorized:
			reason = reasonUnauthorized
		case metav1.StatusReasonBadRequest:
			reason = reasonBadRequest
		default:
			switch code {
			case http.StatusBadRequest:
				reason = reasonBadRequest
			case http.StatusUnprocessableEntity:
				reason = reasonInvalid
			case http.StatusServiceUnavailable:
				reason = reasonUnavailable
			}
		}
		if code == 0 {
			code = http.StatusInternalServerError
		}
		return &apiError{Code: code, Reason: reason, Message: st.Message}
	}
	return errorf(http.StatusInternalServerError, reasonInternal, "%s", err.Error())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if raw, ok := v.(rawJSON); ok {
		_, _ = w.Write(raw)
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// gzipMin is the smallest JSON body worth compressing: lists of stages or Freight run
// to megabytes and shrink about twentyfold, a single object gains nothing.
const gzipMin = 8 << 10

// writeJSONFor is writeJSON that gzips a large body for a client that accepts it (every
// browser, and Go's HTTP client transparently).
func writeJSONFor(w http.ResponseWriter, r *http.Request, code int, v any) {
	raw, ok := v.(rawJSON)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			writeError(w, err)
			return
		}
		raw = append(b, '\n')
	}
	w.Header().Add("Vary", "Accept-Encoding")
	if len(raw) >= gzipMin && acceptsGzip(r) {
		var zipped bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&zipped, gzip.BestSpeed)
		_, _ = zw.Write(raw)
		if zw.Close() == nil {
			w.Header().Set("Content-Encoding", "gzip")
			raw = zipped.Bytes()
		}
	}
	writeJSON(w, code, raw)
}

// acceptsGzip reads Accept-Encoding: gzip (or *) listed and not refused with q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func writeError(w http.ResponseWriter, err error) {
	e := fromKube(err)
	writeJSON(w, e.Code, e)
}

// list is the JSON shape of every collection.
type list[T any] struct {
	Items []T `json:"items"`
}
