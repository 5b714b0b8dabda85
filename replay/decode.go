package replay

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Link types written by tools as raw IP besides LINKTYPE_RAW (101):
// DLT_RAW as OpenBSD and some Linux tools number it.
const (
	linkRawBSD   layers.LinkType = 12
	linkRawLinux layers.LinkType = 14
)

// decoder takes packets apart down to TCP without allocating: one struct
// per layer, reused for every packet.
type decoder struct {
	eth  layers.Ethernet
	sll  layers.LinuxSLL
	sll2 layers.LinuxSLL2
	lo   layers.Loopback
	vlan layers.Dot1Q
	ip4  layers.IPv4
	ip6  layers.IPv6
	tcp  layers.TCP
}

// supported reports whether packets of link type l can be decoded.
func supported(l layers.LinkType) bool {
	switch l {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6, linkRawBSD, linkRawLinux:
		return true
	}
	return false
}

// decode returns the network flow and TCP segment of a packet; ok is false
// for anything else (ARP, UDP, IP fragments, undecodable bytes).
func (d *decoder) decode(link layers.LinkType, data []byte) (gopacket.Flow, *layers.TCP, bool) {
	flow, seg, ok := d.ip(link, data)
	if !ok || d.tcp.DecodeFromBytes(seg, gopacket.NilDecodeFeedback) != nil {
		return flow, nil, false
	}
	return flow, &d.tcp, true
}

// ip takes a packet apart down to IP: its network flow and the bytes of its
// TCP segment (not decoded yet); ok is false for anything but TCP.
func (d *decoder) ip(link layers.LinkType, data []byte) (gopacket.Flow, []byte, bool) {
	nf := gopacket.NilDecodeFeedback
	var next gopacket.LayerType
	var err error
	switch link {
	case layers.LinkTypeEthernet:
		err, next, data = d.eth.DecodeFromBytes(data, nf), d.eth.NextLayerType(), d.eth.Payload
	case layers.LinkTypeLinuxSLL:
		err, next, data = d.sll.DecodeFromBytes(data, nf), d.sll.NextLayerType(), d.sll.Payload
	case layers.LinkTypeLinuxSLL2:
		err, next, data = d.sll2.DecodeFromBytes(data, nf), d.sll2.NextLayerType(), d.sll2.Payload
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		err, next, data = d.lo.DecodeFromBytes(data, nf), d.lo.NextLayerType(), d.lo.Payload
	default:
		next = ipVersion(data)
	}
	for err == nil && next == layers.LayerTypeDot1Q {
		err, next, data = d.vlan.DecodeFromBytes(data, nf), d.vlan.NextLayerType(), d.vlan.Payload
	}
	if err != nil {
		return gopacket.Flow{}, nil, false
	}
	var flow gopacket.Flow
	switch next {
	case layers.LayerTypeIPv4:
		ip := &d.ip4
		if ip.DecodeFromBytes(data, nf) != nil || ip.Protocol != layers.IPProtocolTCP ||
			ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			return flow, nil, false
		}
		flow, data = ip.NetworkFlow(), ip.Payload
	case layers.LayerTypeIPv6:
		ip := &d.ip6
		if ip.DecodeFromBytes(data, nf) != nil {
			return flow, nil, false
		}
		proto := ip.NextHeader
		if ip.HopByHop != nil {
			proto = ip.HopByHop.NextHeader
		}
		if proto != layers.IPProtocolTCP {
			return flow, nil, false
		}
		flow, data = ip.NetworkFlow(), ip.Payload
	default:
		return flow, nil, false
	}
	return flow, data, true
}

// ipVersion tells IPv4 from IPv6 on links that carry bare IP.
func ipVersion(data []byte) gopacket.LayerType {
	if len(data) == 0 {
		return gopacket.LayerTypeZero
	}
	switch data[0] >> 4 {
	case 4:
		return layers.LayerTypeIPv4
	case 6:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}
