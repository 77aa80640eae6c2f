package crm

import (
	"strconv"
	"strings"
)

// Usage returns the org's API usage from the last Sforce-Limit-Info header
// seen: calls used in the rolling 24 hours and the allocation. Both are 0
// before the first response. The engine uses it to stop before the limit
// and to report consumption.
func (c *Client) Usage() (used, max int) {
	c.usageMu.Lock()
	defer c.usageMu.Unlock()
	return c.usageUsed, c.usageMax
}

func (c *Client) recordUsage(header string) {
	used, max, ok := parseLimitInfo(header)
	if !ok {
		return
	}
	c.usageMu.Lock()
	defer c.usageMu.Unlock()
	c.usageUsed, c.usageMax = used, max
}

// parseLimitInfo reads "api-usage=N/M" out of a Sforce-Limit-Info value,
// ignoring other entries such as "; api-bursts=1/750" and stray spaces.
func parseLimitInfo(h string) (used, max int, ok bool) {
	for part := range strings.FieldsFuncSeq(h, func(r rune) bool { return r == ';' || r == ',' }) {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "api-usage") {
			continue
		}
		n, m, found := strings.Cut(strings.TrimSpace(v), "/")
		if !found {
			return 0, 0, false
		}
		u, err1 := strconv.Atoi(strings.TrimSpace(n))
		x, err2 := strconv.Atoi(strings.TrimSpace(m))
		if err1 != nil || err2 != nil || u < 0 || x < 0 {
			return 0, 0, false
		}
		return u, x, true
	}
	return 0, 0, false
}
