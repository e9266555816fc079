package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// A Dir stores each profile as one file, <id>.reqprof: the gzip stream
// that profile.Encode wrote, with the profile's Meta in the stream's
// header, as the sidecar's JSON (see sidecar.go) in an extra field (RFC
// 1952, FEXTRA) with the subfield id "Rp":
//
//	1f 8b 08 FLG|04 MTIME(4) XFL OS  XLEN(2)  'R' 'p' LEN(2) {"v":2,"id":…}  …the rest of the stream
//
// Gzip readers skip extra fields (the header is outside the stream's
// checksum), so the file stays a .reqprof that profile.Decode, reqprof
// view and zcat read as before; and a profile and its Meta appear
// together, with one rename.
//
// Before, a Dir wrote two files, <id>.reqprof and its sidecar <id>.json:
// a Dir still reads that layout, and writes it for a Meta too large for an
// extra field (more than about 64 KiB of JSON, far more than a profile's
// name and labels take unless they are near every bound).
const (
	gzipFEXTRA = 1 << 2
	gzipFHCRC  = 1 << 1
	// maxHeaderMeta is the most JSON an extra field holds: XLEN is 16
	// bits, and the subfield's own header takes 4 bytes.
	maxHeaderMeta = 1<<16 - 1 - 4
)

var metaSubfield = [2]byte{'R', 'p'}

// fileBufs recycles the buffers that hold a file being written; buffers
// larger than maxPooledBuf are left to the garbage collector.
var fileBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBuf = 256 << 10

// withMeta returns the file that holds data, a gzip stream as
// profile.Encode writes it, and js, its Meta, in the buffer *buf. It
// returns false when data's header has no room for js: a Meta too large,
// or a header that already has an extra field or a header checksum, which
// profile.Encode does not write.
func withMeta(buf *[]byte, data, js []byte) ([]byte, bool) {
	if len(js) > maxHeaderMeta || len(data) < 10 || data[0] != 0x1f || data[1] != 0x8b || data[2] != 8 || data[3]&(gzipFEXTRA|gzipFHCRC) != 0 {
		return nil, false
	}
	n := 10 + 2 + 4 + len(js) + len(data) - 10
	b := (*buf)[:0]
	if cap(b) < n {
		b = make([]byte, 0, n)
	}
	b = append(b, data[:10]...)
	b[3] |= gzipFEXTRA
	b = binary.LittleEndian.AppendUint16(b, uint16(4+len(js)))
	b = append(b, metaSubfield[0], metaSubfield[1])
	b = binary.LittleEndian.AppendUint16(b, uint16(len(js)))
	b = append(b, js...)
	b = append(b, data[10:]...)
	*buf = b
	return b, true
}

// readHeaderMeta reads the Meta in the header of id's profile file at
// name. It returns ok false, and no error, for a file without one (written
// in the two-file layout); an error wrapping ErrNotFound when the file is
// absent, ErrCorrupt when it is not a gzip stream or its Meta is damaged.
func readHeaderMeta(name, id string) (m Meta, ok bool, err error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return Meta{}, false, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Meta{}, false, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	metaReads.Add(1)
	// Most Metas take a few hundred bytes: one read of 4 KiB holds the
	// whole header, the rest is read only for a larger one.
	var small [4 << 10]byte
	b := small[:]
	n, err := io.ReadAtLeast(f, b, len(b))
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return Meta{}, false, fmt.Errorf("store: %s.reqprof: %w", id, err)
	}
	b = b[:n]
	corrupt := func(why string) error {
		return fmt.Errorf("store: %s.reqprof: %w: %s", id, ErrCorrupt, why)
	}
	switch {
	case n < 10 || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8:
		return Meta{}, false, corrupt("not a gzip stream")
	case b[3]&gzipFEXTRA == 0:
		return Meta{}, false, nil
	case n < 12:
		return Meta{}, false, corrupt("truncated header")
	}
	xlen := int(binary.LittleEndian.Uint16(b[10:12]))
	if len(b) < 12+xlen {
		if n < len(small) { // the file ended
			return Meta{}, false, corrupt("truncated header")
		}
		whole := make([]byte, 12+xlen)
		copy(whole, b)
		if _, err := io.ReadFull(f, whole[len(b):]); err != nil {
			return Meta{}, false, corrupt("truncated header")
		}
		b = whole
	}
	extra := b[12 : 12+xlen]
	for len(extra) >= 4 {
		size := int(binary.LittleEndian.Uint16(extra[2:4]))
		if len(extra) < 4+size {
			break
		}
		if extra[0] == metaSubfield[0] && extra[1] == metaSubfield[1] {
			m, err := decodeSidecar(extra[4:4+size], id, id+".reqprof")
			return m, err == nil, err
		}
		extra = extra[4+size:]
	}
	if len(extra) != 0 {
		return Meta{}, false, corrupt("damaged gzip extra field")
	}
	return Meta{}, false, nil
}
