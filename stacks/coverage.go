package stacks

import (
	"fmt"
	"math/big"
	"net/netip"
	"sort"
)

// maxAdminSpan is how much of an address family the admin CIDRs may cover
// together without allowAnyAdminCidr, as a prefix length: a /8 of IPv4 (a
// large provider's block), a /32 of IPv6 (an ISP's allocation).
var maxAdminSpan = map[bool]int{true: 8, false: 32} // by Is4

// wideFamily is one address family whose admin CIDRs cover too much.
type wideFamily struct {
	cidrs []string // the family's CIDRs, as given
	limit string   // what is allowed, in words
	reach string   // what they cover, in words
}

// wideFamilies judges the CIDRs of each family by the addresses they cover
// together: 0.0.0.0/1 and 128.0.0.0/1 are the whole internet as much as
// 0.0.0.0/0 is. cidrs are valid and canonical.
func wideFamilies(cidrs []string) []wideFamily {
	var out []wideFamily
	for _, v4 := range []bool{true, false} {
		var family []string
		var prefixes []netip.Prefix
		for _, c := range cidrs {
			p := netip.MustParsePrefix(c)
			if p.Addr().Is4() == v4 {
				family = append(family, c)
				prefixes = append(prefixes, p)
			}
		}
		if len(prefixes) == 0 {
			continue
		}
		bits := 128
		name := "IPv6"
		if v4 {
			bits, name = 32, "IPv4"
		}
		covered := coverage(prefixes)
		limit := new(big.Int).Lsh(big.NewInt(1), uint(bits-maxAdminSpan[v4]))
		if covered.Cmp(limit) <= 0 {
			continue
		}
		all := new(big.Int).Lsh(big.NewInt(1), uint(bits))
		reach := "the whole internet (every " + name + " address)"
		if covered.Cmp(all) < 0 {
			share, _ := new(big.Rat).SetFrac(covered, all).Float64()
			reach = fmt.Sprintf("%.1f%% of the %s internet (%s addresses)", share*100, name, covered)
		}
		out = append(out, wideFamily{
			cidrs: family,
			limit: fmt.Sprintf("a /%d of %s (%s addresses)", maxAdminSpan[v4], name, limit),
			reach: reach,
		})
	}
	return out
}

// coverage is the number of addresses in the union of prefixes (one
// family): the ranges are sorted and merged, so overlaps count once.
func coverage(prefixes []netip.Prefix) *big.Int {
	type span struct{ first, last *big.Int }
	spans := make([]span, len(prefixes))
	for i, p := range prefixes {
		first := new(big.Int).SetBytes(p.Masked().Addr().AsSlice())
		size := new(big.Int).Lsh(big.NewInt(1), uint(p.Addr().BitLen()-p.Bits()))
		spans[i] = span{first, new(big.Int).Sub(new(big.Int).Add(first, size), big.NewInt(1))}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].first.Cmp(spans[j].first) < 0 })
	total := new(big.Int)
	cur := spans[0]
	flush := func() {
		total.Add(total, new(big.Int).Add(new(big.Int).Sub(cur.last, cur.first), big.NewInt(1)))
	}
	for _, s := range spans[1:] {
		if s.first.Cmp(new(big.Int).Add(cur.last, big.NewInt(1))) <= 0 {
			if s.last.Cmp(cur.last) > 0 {
				cur.last = s.last
			}
			continue
		}
		flush()
		cur = s
	}
	flush()
	return total
}
