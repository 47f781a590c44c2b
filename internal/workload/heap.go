package workload

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var heapPattern = regexp.MustCompile(`^([1-9][0-9]*)([kKmMgG]?)$`)

// ParseHeap reads a heap size as -Xmx takes it ("1G", "512m", "1048576") and
// returns it in bytes.
func ParseHeap(s string) (int64, error) {
	m := heapPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("not a JVM heap size")
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, err
	}
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30}[strings.ToLower(m[2])]
	if n > (1<<62)>>shift {
		return 0, fmt.Errorf("heap size too large")
	}
	return n << shift, nil
}

// HeapShare is the most of a container's memory limit that the heap may
// take: the JVM needs the rest for metaspace, threads, direct buffers and the
// page cache Kafka leans on, and a container that reaches its limit is killed.
const HeapShare = 0.75

// HeapOpts are the JVM flags that fix the heap at size (equal -Xms and -Xmx,
// as the book sets them).
func HeapOpts(size string) string {
	return "-Xmx" + size + " -Xms" + size
}
