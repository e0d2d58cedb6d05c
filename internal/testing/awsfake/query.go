package awsfake

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// params reads the flattened lists of the EC2 and STS query protocols: "VpcId.1", "Filter.2.Value.1",
// "IpPermissions.1.IpRanges.1.CidrIp".
type params struct {
	v      url.Values
	prefix string
}

func (p params) get(name string) string { return p.v.Get(p.prefix + name) }

func (p params) has(name string) bool { _, ok := p.v[p.prefix+name]; return ok }

// indexes returns the sorted distinct N of every key "name.N..." under p.
func (p params) indexes(name string) []int {
	seen := map[int]bool{}
	head := p.prefix + name + "."
	for k := range p.v {
		if !strings.HasPrefix(k, head) {
			continue
		}
		rest := strings.TrimPrefix(k, head)
		n, _, _ := strings.Cut(rest, ".")
		if i, err := strconv.Atoi(n); err == nil {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// list returns the values of "name.1", "name.2", … in index order.
func (p params) list(name string) []string {
	var out []string
	for _, i := range p.indexes(name) {
		if v, ok := p.v[fmt.Sprintf("%s%s.%d", p.prefix, name, i)]; ok {
			out = append(out, v[0])
		}
	}
	return out
}

// structs returns a params view per "name.N." prefix.
func (p params) structs(name string) []params {
	var out []params
	for _, i := range p.indexes(name) {
		out = append(out, params{v: p.v, prefix: fmt.Sprintf("%s%s.%d.", p.prefix, name, i)})
	}
	return out
}

func (p params) boolean(name string) (value, set bool, err error) {
	raw := p.get(name)
	if raw == "" {
		return false, false, nil
	}
	b, perr := strconv.ParseBool(raw)
	if perr != nil {
		return false, true, errorf(400, "InvalidParameterValue", "Value (%s) for parameter %s is invalid. Expected a boolean.", raw, name)
	}
	return b, true, nil
}

func (p params) int32(name string) (value int32, set bool, err error) {
	raw := p.get(name)
	if raw == "" {
		return 0, false, nil
	}
	n, perr := strconv.ParseInt(raw, 10, 32)
	if perr != nil {
		return 0, true, errorf(400, "InvalidParameterValue", "Value (%s) for parameter %s is invalid. Expected an integer.", raw, name)
	}
	return int32(n), true, nil
}

// filter is one EC2 Filter: the resource matches when one of its values for Name matches one of Values.
type filter struct {
	name   string
	values []string
}

func parseFilters(p params) []filter {
	var out []filter
	for _, f := range p.structs("Filter") {
		out = append(out, filter{name: f.get("Name"), values: f.list("Value")})
	}
	return out
}

// matchFilters applies EC2 filter semantics: AND across filters, OR across a filter's values, with '*' and
// '?' wildcards. attrs maps each filter name the resource supports to its values; tag filters come from tags.
func matchFilters(filters []filter, attrs map[string][]string, tags map[string]string) (bool, error) {
	for _, f := range filters {
		var have []string
		switch {
		case strings.HasPrefix(f.name, "tag:"):
			if v, ok := tags[strings.TrimPrefix(f.name, "tag:")]; ok {
				have = []string{v}
			}
		case f.name == "tag-key":
			for k := range tags {
				have = append(have, k)
			}
		case f.name == "tag-value":
			for _, v := range tags {
				have = append(have, v)
			}
		default:
			vals, ok := attrs[f.name]
			if !ok {
				return false, errorf(400, "InvalidParameterValue", "The filter '%s' is invalid", f.name)
			}
			have = vals
		}
		if !anyMatch(f.values, have) {
			return false, nil
		}
	}
	return true, nil
}

func anyMatch(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if glob(p, v) {
				return true
			}
		}
	}
	return false
}

// glob matches EC2 filter wildcards: '*' any run of characters, '?' exactly one; '\' escapes either.
func glob(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if glob(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && glob(pattern[1:], s[1:])
	case '\\':
		if len(pattern) > 1 {
			return s != "" && s[0] == pattern[1] && glob(pattern[2:], s[1:])
		}
	}
	return s != "" && s[0] == pattern[0] && glob(pattern[1:], s[1:])
}

// paginate applies MaxResults/NextToken. The token is the offset of the next item.
func paginate[T any](items []T, p params) ([]T, string, error) {
	start := 0
	if tok := p.get("NextToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "fake-token-"))
		if err != nil || !strings.HasPrefix(tok, "fake-token-") || n < 0 || n > len(items) {
			return nil, "", errorf(400, "InvalidPaginationToken", "Invalid pagination token %q", tok)
		}
		start = n
	}
	max, set, err := p.int32("MaxResults")
	if err != nil {
		return nil, "", err
	}
	if !set {
		return items[start:], "", nil
	}
	if max < 5 || max > 1000 {
		return nil, "", errorf(400, "InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", max)
	}
	end := start + int(max)
	if end >= len(items) {
		return items[start:], "", nil
	}
	return items[start:end], fmt.Sprintf("fake-token-%d", end), nil
}

func boolString(b bool) string { return strconv.FormatBool(b) }
