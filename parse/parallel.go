package parse

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	exptrace "golang.org/x/exp/trace"
)

// Reading a trace on several cores.
//
// A trace since Go 1.22 is a sequence of generations, each self-contained:
// its own string and stack tables, and the status of every goroutine
// alive at its start. The file is cut at generation boundaries (found from
// the batch headers alone, without decoding), each piece is decoded by
// its own x/exp/trace Reader on one of several goroutines, and the
// builder consumes the pieces' events in file order, on one goroutine, as
// in the serial pass. Two things differ from one Reader over the whole
// file, and the builder makes them alike: a piece's Reader reports the
// goroutine status events at the start of its generation as transitions
// from GoUndetermined (the whole-file Reader as no change, since it knew
// the state already), and ends its piece with a Sync event of its own.
// Timestamps are made strictly increasing across pieces, as the
// whole-file Reader makes them.

// The batch header bytes of the format (internal/trace/tracev2).
const (
	evEventBatch        = 1
	evExperimentalBatch = 49
	evEndOfGeneration   = 52
	maxBatchSize        = 64 << 10
)

// piece is the bytes [off, end) of a trace file: whole generations.
type piece struct{ off, end int64 }

// splitGenerations finds the generations of a Go 1.22+ trace of size
// bytes, header included, from the batch headers. ok is false when the
// file is not cut cleanly into batches (a damaged trace: the serial pass
// then says where) or holds one generation only.
func splitGenerations(ra io.ReaderAt, size int64, minor int) (pieces []piece, ok bool) {
	const hdrLen = 16
	var buf [2 + 4*binary.MaxVarintLen64]byte
	off, start := int64(hdrLen), int64(hdrLen)
	gen := uint64(0)
	for off < size {
		n, err := ra.ReadAt(buf[:], off)
		if n == 0 || err != nil && err != io.EOF {
			return nil, false
		}
		b := buf[:n]
		switch b[0] {
		case evEndOfGeneration:
			if minor < 26 {
				return nil, false
			}
			off++
			pieces = append(pieces, piece{start, off})
			start, gen = off, 0
			continue
		case evEventBatch:
			b = b[1:]
		case evExperimentalBatch:
			if len(b) < 2 {
				return nil, false
			}
			b = b[2:]
		default:
			return nil, false
		}
		var hdr [4]uint64 // generation, M, timestamp, size
		for i := range hdr {
			v, k := binary.Uvarint(b)
			if k <= 0 {
				return nil, false
			}
			hdr[i], b = v, b[k:]
		}
		if hdr[0] == 0 || hdr[3] > maxBatchSize {
			return nil, false
		}
		if gen != 0 && hdr[0] != gen {
			if minor >= 26 {
				return nil, false // generations end with their marker
			}
			pieces = append(pieces, piece{start, off})
			start = off
		}
		gen = hdr[0]
		off += int64(n-len(b)) + int64(hdr[3])
		if off > size {
			return nil, false
		}
	}
	if start < size {
		if minor >= 26 {
			return nil, false // the last generation lacks its end marker
		}
		pieces = append(pieces, piece{start, size})
	}
	return pieces, len(pieces) > 1
}

// v2Minor returns 26 for "1.26", and 0 for a version older than 1.22
// (the old format, converted whole by x/exp/trace) or unknown.
func v2Minor(version string) int {
	minor, err := strconv.Atoi(strings.TrimPrefix(version, "1."))
	if err != nil || minor < 22 {
		return 0
	}
	return minor
}

// chunkEvents is how many events a decoder hands over at once, and
// maxAhead how many decoded events may wait, in all, in the pieces after
// the one being consumed (about 100 bytes each). The consumer is slower
// than a decoder (it does the analysis), so a decoder busy with the piece
// being consumed keeps it fed, and a small head start for the next piece
// is enough.
const (
	chunkEvents = 4096
	maxAhead    = 1 << 17
)

// decoded is the event stream of one piece.
type decoded struct {
	chunks chan *chunk
	err    error // set before chunks is closed
}

// chunk is some events of a piece, and the annotations of its log events
// in order: decoded on the decoder's goroutine, which leaves the consumer
// less to do.
type chunk struct {
	evs  []exptrace.Event
	logs []preAnnotation
}

// pipeline decodes pieces on jobs goroutines, ahead of the consumer.
type pipeline struct {
	ra     io.ReaderAt
	header []byte
	pieces []piece
	out    []decoded

	mu      sync.Mutex
	cond    *sync.Cond
	current int // the piece being consumed
	ahead   int // events decoded in pieces after current
	stop    bool
	done    chan struct{} // closed with stop set
	next    int           // the next piece to hand to a decoder
	free    []*chunk
	wg      sync.WaitGroup
}

func newPipeline(ra io.ReaderAt, header []byte, pieces []piece, jobs int) *pipeline {
	p := &pipeline{ra: ra, header: header, pieces: pieces, out: make([]decoded, len(pieces)), done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	for i := range p.out {
		// Room for every chunk a piece ahead may hold: decoders wait on the
		// budget (p.ahead), not on the channel, unless consumed as they go.
		p.out[i].chunks = make(chan *chunk, maxAhead/chunkEvents+2)
	}
	for range min(jobs, len(pieces)) {
		p.wg.Add(1)
		go p.decoder()
	}
	return p
}

// decoder decodes pieces, in order, until none is left or the consumer
// stops.
func (p *pipeline) decoder() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		i := p.next
		p.next++
		stop := p.stop
		p.mu.Unlock()
		if stop || i >= len(p.pieces) {
			return
		}
		d := &p.out[i]
		d.err = p.decode(i)
		close(d.chunks)
	}
}

// decode sends piece i's events, but for its closing Sync event when a
// piece follows (the next piece's opening Sync stands for it).
func (p *pipeline) decode(i int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the trace reader failed: %v", r)
		}
	}()
	pc := p.pieces[i]
	r := io.MultiReader(bytes.NewReader(p.header), io.NewSectionReader(p.ra, pc.off, pc.end-pc.off))
	er, err := exptrace.NewReader(bufio.NewReaderSize(r, 1<<16))
	if err != nil {
		return err
	}
	last := i == len(p.pieces)-1
	c := p.chunk()
	for {
		ev, err := er.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			p.send(i, c)
			return err
		}
		if len(c.evs) == chunkEvents {
			if !p.send(i, c) {
				return nil
			}
			c = p.chunk()
		}
		c.evs = append(c.evs, ev)
		if ev.Kind() == exptrace.EventLog {
			c.logs = append(c.logs, predecode(&ev))
		}
	}
	if n := len(c.evs); !last && n > 0 && c.evs[n-1].Kind() == exptrace.EventSync {
		c.evs = c.evs[:n-1]
	}
	p.send(i, c)
	return nil
}

// send hands a chunk of piece i to the consumer, first waiting for room
// if piece i is ahead of it. It reports false when the consumer stopped.
func (p *pipeline) send(i int, c *chunk) bool {
	p.mu.Lock()
	for i > p.current && p.ahead >= maxAhead && !p.stop {
		p.cond.Wait()
	}
	stop := p.stop
	if i > p.current {
		p.ahead += len(c.evs)
	}
	p.mu.Unlock()
	if stop {
		return false
	}
	select {
	case p.out[i].chunks <- c:
		return true
	case <-p.done:
		return false
	}
}

func (p *pipeline) chunk() *chunk {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		return c
	}
	return &chunk{evs: make([]exptrace.Event, 0, chunkEvents)}
}

// consume feeds every piece's events to the builder in order, and returns
// the first error a decoder met (what came before it was consumed).
func (p *pipeline) consume(b *builder) (err error) {
	defer p.close()
	defer b.recoverReader(&err)
	for i := range p.out {
		p.mu.Lock()
		p.current = i
		p.ahead = 0 // recounted below: what waits beyond piece i
		for j := i + 1; j < len(p.out); j++ {
			p.ahead += len(p.out[j].chunks) * chunkEvents
		}
		p.cond.Broadcast()
		p.mu.Unlock()
		b.piece = i
		for c := range p.out[i].chunks {
			logs := c.logs
			for k := range c.evs {
				ev := &c.evs[k]
				if ev.Kind() == exptrace.EventLog {
					pre := &logs[0]
					if pre.redo {
						pre = nil
					}
					b.event(ev, pre)
					logs = logs[1:]
				} else {
					b.event(ev, nil)
				}
			}
			// Let go of the generation's tables and strings.
			clear(c.evs)
			clear(c.logs)
			c.evs, c.logs = c.evs[:0], c.logs[:0]
			p.mu.Lock()
			p.free = append(p.free, c)
			p.mu.Unlock()
		}
		if err := p.out[i].err; err != nil {
			return err
		}
	}
	return nil
}

// predecode is decodeLog on a decoder's goroutine. Should x/exp/trace
// panic on a damaged event, the builder decodes the event again itself,
// so that the pass stops at that event with the error the serial pass
// gives.
func predecode(ev *exptrace.Event) (pre preAnnotation) {
	defer func() {
		if recover() != nil {
			pre = preAnnotation{redo: true}
		}
	}()
	return decodeLog(ev)
}

// close stops the decoders and waits for them.
func (p *pipeline) close() {
	p.mu.Lock()
	p.stop = true
	close(p.done)
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}
