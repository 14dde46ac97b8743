package server

import (
	"errors"
	"net/http"
	"time"
)

// Limits bound how long a connection may take and how large a request body may be, so
// that slow or idle clients cannot hold connections open. Zero fields take the
// defaults below.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's headers (default 10s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (default 1m).
	ReadTimeout time.Duration
	// WriteTimeout bounds a response, from the end of the request headers (default 2m).
	// The event stream lifts it and sets a deadline per message instead.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request for this long
	// (default 2m).
	IdleTimeout time.Duration
	// MaxBodyBytes caps request bodies on every route but apply (default 1 MiB).
	MaxBodyBytes int64
	// MaxApplyBytes caps the body of POST /api/v1/apply (default 8 MiB).
	MaxApplyBytes int64
}

// Default limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = time.Minute
	DefaultWriteTimeout      = 2 * time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxBodyBytes      = 1 << 20
	DefaultMaxApplyBytes     = 8 << 20
)

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	set(&l.ReadTimeout, DefaultReadTimeout)
	set(&l.WriteTimeout, DefaultWriteTimeout)
	set(&l.IdleTimeout, DefaultIdleTimeout)
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxApplyBytes <= 0 {
		l.MaxApplyBytes = DefaultMaxApplyBytes
	}
	return l
}

// HTTPServer returns an http.Server serving h with l's timeouts (defaults for zero
// fields). Serve the handler New returns with it, or with an http.Server whose
// timeouts are set the same way.
func (l Limits) HTTPServer(h http.Handler) *http.Server {
	l = l.WithDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
	}
}

// limitBody caps r's body: MaxApplyBytes for apply, MaxBodyBytes elsewhere. Reading
// past the cap fails with an *http.MaxBytesError, which bodyError turns into 413.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	n := s.limits.MaxBodyBytes
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/apply" {
		n = s.limits.MaxApplyBytes
	}
	r.Body = http.MaxBytesReader(w, r.Body, n)
}

// bodyError names a failure to read a request body: 413 with the limit when the body
// is too large, 400 otherwise.
func bodyError(what string, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, reasonTooLarge, "%s is larger than the limit of %d bytes", what, mbe.Limit)
	}
	return badRequest("reading %s: %s", what, err.Error())
}
