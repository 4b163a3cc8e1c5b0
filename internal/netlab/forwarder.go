package netlab

import (
	"container/heap"
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The forwarder joins the root-side and lab-side TUN devices. Per direction
// one goroutine reads packets, drops each with probability Loss and queues
// the rest in a heap ordered by due time (Delay ± Jitter from arrival); a
// second goroutine writes each packet to the other TUN when it is due. No
// goroutine per packet; buffers come from a pool.

const (
	pktBufSize  = linkMTU + 512
	maxInFlight = 1 << 17 // per direction; beyond this packets are counted as Overflow and dropped
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, pktBufSize); return &b }}

// DirStats counts one direction's packets.
type DirStats struct {
	Forwarded   uint64 // written to the other side
	Lost        uint64 // dropped on purpose (Link.Loss)
	Overflow    uint64 // dropped because too many packets were in flight
	WriteErrors uint64 // the kernel refused the write (EIO: the other side was not up yet, e.g. an IPv6 router solicitation during New)
}

// LinkStats counts the forwarder's packets in both directions.
type LinkStats struct {
	ToLab   DirStats // root namespace → lab
	FromLab DirStats // lab → root namespace
}

type forwarder struct {
	root, lab *os.File
	toLab     *pipe
	fromLab   *pipe
	stop      chan struct{}
	wg        sync.WaitGroup
	once      sync.Once
}

func startForwarder(root, lab *os.File, link Link) *forwarder {
	f := &forwarder{root: root, lab: lab, stop: make(chan struct{})}
	seed := uint64(link.Seed)
	f.toLab = newPipe(root, lab, link, rand.New(rand.NewPCG(seed, 0x746f6c6162)), f.stop)
	f.fromLab = newPipe(lab, root, link, rand.New(rand.NewPCG(seed, 0x66726f6d6c6162)), f.stop)
	for _, p := range []*pipe{f.toLab, f.fromLab} {
		f.wg.Add(2)
		go func() { defer f.wg.Done(); p.readLoop() }()
		go func() { defer f.wg.Done(); p.writeLoop() }()
	}
	return f
}

// close unblocks the readers by closing both TUN fds (which deletes the
// devices), stops the writers and waits for all four goroutines.
func (f *forwarder) close() error {
	var err error
	f.once.Do(func() {
		close(f.stop)
		err = errors.Join(f.root.Close(), f.lab.Close())
		f.wg.Wait()
	})
	return err
}

func (f *forwarder) stats() LinkStats {
	return LinkStats{ToLab: f.toLab.stats(), FromLab: f.fromLab.stats()}
}

type packet struct {
	due time.Time
	seq uint64 // FIFO among equal due times
	buf *[]byte
	n   int
}

type packetHeap []packet

func (h packetHeap) Len() int { return len(h) }
func (h packetHeap) Less(i, j int) bool {
	if c := h[i].due.Compare(h[j].due); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h packetHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *packetHeap) Push(x any)   { *h = append(*h, x.(packet)) }
func (h *packetHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = packet{}
	*h = old[:len(old)-1]
	return p
}

// pipe is one direction of the forwarder.
type pipe struct {
	src, dst *os.File
	link     Link
	rng      *rand.Rand // owned by readLoop
	stop     <-chan struct{}
	wake     chan struct{} // a new earliest packet; capacity 1

	mu  sync.Mutex
	q   packetHeap
	seq uint64

	forwarded, lost, overflow, writeErrs atomic.Uint64
}

func newPipe(src, dst *os.File, link Link, rng *rand.Rand, stop <-chan struct{}) *pipe {
	return &pipe{src: src, dst: dst, link: link, rng: rng, stop: stop, wake: make(chan struct{}, 1)}
}

func (p *pipe) stats() DirStats {
	return DirStats{
		Forwarded:   p.forwarded.Load(),
		Lost:        p.lost.Load(),
		Overflow:    p.overflow.Load(),
		WriteErrors: p.writeErrs.Load(),
	}
}

func (p *pipe) delay() time.Duration {
	d := p.link.Delay
	if j := p.link.Jitter; j > 0 {
		d += time.Duration(p.rng.Int64N(int64(2*j)+1)) - j
	}
	return max(d, 0)
}

// readLoop ends when src is closed (or fails for good).
func (p *pipe) readLoop() {
	for {
		bp := bufPool.Get().(*[]byte)
		n, err := p.src.Read(*bp)
		if err != nil {
			bufPool.Put(bp)
			return // closed: os.ErrClosed; anything else is not recoverable either
		}
		if p.link.Loss > 0 && p.rng.Float64() < p.link.Loss {
			p.lost.Add(1)
			bufPool.Put(bp)
			continue
		}
		due := time.Now().Add(p.delay())
		p.mu.Lock()
		if len(p.q) >= maxInFlight {
			p.mu.Unlock()
			p.overflow.Add(1)
			bufPool.Put(bp)
			continue
		}
		p.seq++
		heap.Push(&p.q, packet{due: due, seq: p.seq, buf: bp, n: n})
		first := p.q[0].seq == p.seq
		p.mu.Unlock()
		if first {
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}
}

// writeLoop writes packets when due; it ends on stop and frees what is left.
func (p *pipe) writeLoop() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	batch := make([]packet, 0, 256)
	for {
		p.mu.Lock()
		now := time.Now()
		for len(p.q) > 0 && len(batch) < cap(batch) && !p.q[0].due.After(now) {
			batch = append(batch, heap.Pop(&p.q).(packet))
		}
		wait := time.Duration(-1)
		if len(p.q) > 0 {
			wait = p.q[0].due.Sub(now)
		}
		p.mu.Unlock()
		if len(batch) > 0 {
			for i, pk := range batch {
				if _, err := p.dst.Write((*pk.buf)[:pk.n]); err != nil {
					p.writeErrs.Add(1)
				} else {
					p.forwarded.Add(1)
				}
				bufPool.Put(pk.buf)
				batch[i] = packet{}
			}
			batch = batch[:0]
			select {
			case <-p.stop:
				p.drain()
				return
			default:
			}
			continue // time has passed: look again before sleeping
		}
		if wait >= 0 {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-p.wake:
		case <-timer.C:
		case <-p.stop:
			p.drain()
			return
		}
	}
}

func (p *pipe) drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pk := range p.q {
		bufPool.Put(pk.buf)
	}
	p.q = nil
}
