package replay

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// A 4-tuple is reused within seconds by clients that open a connection per
// request: a SYN after the old connection's FIN or RST, or one the server
// accepts out of TIME_WAIT. The assembler knows connections by 4-tuple
// only, so a new connection on a reused one would be fed, as out-of-window
// bytes, to what is left of the old one (a half closed by a RST, the stray
// that the old connection's last ACK opened). The reader therefore keeps
// its own table of 4-tuples and gives each new connection on one a
// generation of its own, which goes into the flow the assembler keys by.

// tuple is a connection's 4-tuple as one direction's packets carry it; a
// connection is entered under both directions.
type tuple struct{ net, tr gopacket.Flow }

// tupleState is what the reader knows of a 4-tuple: the generation its
// packets go to, the connection of that generation, and how many
// connections of any generation the assembler still holds on it.
type tupleState struct {
	key  tuple
	gen  uint32
	cur  *conn
	live int
}

// assemble hands one packet to the assembler, under its connection's
// generation. A packet with neither payload nor SYN on a 4-tuple the
// assembler holds no connection for (the last ACK, FIN or RST of a
// connection already over) is not handed over: it carries nothing, and it
// would open a stray connection that the 4-tuple's next one runs into.
func (r *tcpReader) assemble(asm *reassembly.Assembler, flow gopacket.Flow, tcp *layers.TCP, ac reassembly.AssemblerContext) {
	k := tuple{flow, tcp.TransportFlow()}
	st := r.tuples[k]
	if st == nil {
		if len(tcp.Payload) == 0 && !tcp.SYN {
			return
		}
	} else if tcp.SYN && !tcp.ACK && st.cur != nil && st.cur.reopenedBy(tcp) {
		st.cur.retire()
		st.cur = nil
		st.gen++
	}
	if st != nil && st.gen > 0 {
		src, dst := flow.Endpoints()
		flow = gopacket.NewFlow(flow.EndpointType()|gopacket.EndpointType(st.gen)<<32, src.Raw(), dst.Raw())
	}
	r.tuple, r.tupleState = k, st
	asm.AssembleWithContext(flow, tcp, ac)
	r.tupleState = nil
}

// track enters c, just made for the packet being assembled, in the table.
func (r *tcpReader) track(c *conn) {
	st := r.tupleState
	if st == nil {
		if r.tuples == nil {
			r.tuples = map[tuple]*tupleState{}
		}
		st = &tupleState{key: r.tuple}
		r.tuples[r.tuple] = st
		r.tuples[tuple{r.tuple.net.Reverse(), r.tuple.tr.Reverse()}] = st
		r.tupleState = st
	}
	st.cur = c
	st.live++
	c.tuple = st
}

// untrack takes c out of the table: the assembler has dropped it.
func (r *tcpReader) untrack(c *conn) {
	st := c.tuple
	if st == nil {
		return
	}
	c.tuple = nil
	if st.cur == c {
		st.cur = nil
	}
	if st.live--; st.live == 0 {
		delete(r.tuples, st.key)
		delete(r.tuples, tuple{st.key.net.Reverse(), st.key.tr.Reverse()})
	}
}

// reopenedBy reports whether a SYN opens a new connection on c's 4-tuple
// rather than retransmitting the one that opened c: its initial sequence
// number is not c's, or c did not start with a handshake at all.
func (c *conn) reopenedBy(syn *layers.TCP) bool {
	return !c.isnOK || syn.Seq != c.isn
}

// noteISN remembers the client's initial sequence number, from its SYN or
// from the SYN-ACK that answers it.
func (c *conn) noteISN(tcp *layers.TCP) {
	switch {
	case !tcp.SYN:
	case !tcp.ACK:
		c.isn, c.isnOK = tcp.Seq, true
	case !c.isnOK:
		c.isn, c.isnOK = tcp.Ack-1, true
	}
}

// retire settles c now: its client has opened a new connection on the same
// 4-tuple, so nothing more will come on this one. The assembler drops it
// once it is idle; what reaches it meanwhile is ignored.
func (c *conn) retire() {
	c.settle()
}
