package tracedec

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// Raw trace format constants, Go 1.25 and later (x/exp/trace's
// internal/tracev2). Only used to find generation boundaries; anything
// unexpected makes the splitter give up and the whole trace is parsed.
const (
	evEventBatch        = 1
	evExperimentalBatch = 49
	evEndOfGeneration   = 52
	headerLen           = 16 // "go 1.NN trace\x00\x00\x00"
	maxBatchSize        = 64 << 10
)

// generations returns the trace's header and the byte offsets at which its
// generations begin, oldest first, or ok false when the trace's layout is not
// one this splitter knows (then parse it whole).
func generations(data []byte) (header []byte, offs []int, ok bool) {
	if len(data) < headerLen || !bytes.HasPrefix(data, []byte("go 1.")) || !bytes.HasSuffix(data[:headerLen], []byte(" trace\x00\x00\x00")) {
		return nil, nil, false
	}
	minor, err := strconv.Atoi(string(bytes.TrimSuffix(data[5:headerLen], []byte(" trace\x00\x00\x00"))))
	if err != nil || minor < 25 {
		return nil, nil, false
	}
	i := headerLen
	var gen uint64
	first := true
	for i < len(data) {
		start := i
		switch data[i] {
		case evEndOfGeneration:
			i++
			continue
		case evEventBatch:
			i++
		case evExperimentalBatch:
			i += 2
		default:
			return nil, nil, false
		}
		var v [4]uint64
		for k := range v {
			x, n := binary.Uvarint(data[min(i, len(data)):])
			if n <= 0 {
				return nil, nil, false
			}
			v[k], i = x, i+n
		}
		size := v[3]
		if size > maxBatchSize || uint64(len(data)-i) < size {
			return nil, nil, false
		}
		i += int(size)
		if first || v[0] != gen {
			if !first && v[0] < gen {
				return nil, nil, false // generations out of order
			}
			gen, first = v[0], false
			offs = append(offs, start)
		}
	}
	return data[:headerLen], offs, len(offs) > 0
}
