package httpprof

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"

	"github.com/reqprof/reqprof/capture"
)

// recorder passes everything through to the ResponseWriter and notes the
// status and the bytes written. The handler never sees a recorder itself:
// wrapWriter hands it a variant with exactly the optional interfaces
// (Flusher, Hijacker, io.ReaderFrom, Pusher, io.StringWriter,
// CloseNotifier) of the writer underneath, so a profiled request sees what
// an unprofiled one would (on HTTP/2, no Hijacker). Unwrap serves
// http.ResponseController.
type recorder struct {
	w      http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) Header() http.Header { return r.w.Header() }

func (r *recorder) WriteHeader(code int) {
	if code >= 200 {
		r.begin(code)
	}
	r.w.WriteHeader(code)
}

// begin notes the response's status when the handler first hands over its
// response, and leaves a point there (capture.Point): the handler's stack
// at that moment tells where the running time before it went when no CPU
// sample did.
func (r *recorder) begin(status int) {
	if r.status == 0 {
		r.status = status
		capture.Point(context.Background())
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.begin(http.StatusOK)
	n, err := r.w.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.w }

// The optional interfaces, each over the recorder. wrapWriter combines
// them (writer_variants.go is generated: go test -run TestWriterVariants -update).

type flusher struct{ r *recorder }

func (f flusher) Flush() {
	f.r.begin(http.StatusOK)
	f.r.w.(http.Flusher).Flush()
}

type hijacker struct{ r *recorder }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.r.w.(http.Hijacker).Hijack()
}

type readerFrom struct{ r *recorder }

func (f readerFrom) ReadFrom(src io.Reader) (int64, error) {
	f.r.begin(http.StatusOK)
	n, err := f.r.w.(io.ReaderFrom).ReadFrom(src)
	f.r.bytes += n
	return n, err
}

type pusher struct{ r *recorder }

func (p pusher) Push(target string, opts *http.PushOptions) error {
	return p.r.w.(http.Pusher).Push(target, opts)
}

type stringWriter struct{ r *recorder }

func (s stringWriter) WriteString(str string) (int, error) {
	s.r.begin(http.StatusOK)
	n, err := s.r.w.(io.StringWriter).WriteString(str)
	s.r.bytes += int64(n)
	return n, err
}

type closeNotifier struct{ r *recorder }

func (c closeNotifier) CloseNotify() <-chan bool {
	//lint:ignore SA1019 passed through for handlers that still use it
	return c.r.w.(http.CloseNotifier).CloseNotify()
}

// capabilities returns the bit set of the optional interfaces w implements,
// in the order of the variants' bits.
func capabilities(w http.ResponseWriter) int {
	c := 0
	if _, ok := w.(http.Flusher); ok {
		c |= 1
	}
	if _, ok := w.(http.Hijacker); ok {
		c |= 2
	}
	if _, ok := w.(io.ReaderFrom); ok {
		c |= 4
	}
	if _, ok := w.(http.Pusher); ok {
		c |= 8
	}
	if _, ok := w.(io.StringWriter); ok {
		c |= 16
	}
	//lint:ignore SA1019 passed through for handlers that still use it
	if _, ok := w.(http.CloseNotifier); ok {
		c |= 32
	}
	return c
}

// bufferedWriter collects the handler's response when the profile replaces
// it (profile_response=1). It is a plain writer: the client gets the
// profile, not the handler's stream.
type bufferedWriter struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedWriter) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}
