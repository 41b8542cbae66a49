package producer

import (
	"sort"
	"strconv"
	"strings"
)

// knownDefects are the defects of issue 16 that the producer still has, by their number in
// the issue. TestChaos reports a violation of an invariant as "known defect N" instead of
// failing when the check that found it names N as a cause and N is listed here; violations
// no entry excuses fail the test. Where a known defect would hang the run rather than break
// an invariant (6, 7), the schedule still draws the same random choices but does the
// harmless stand-in instead (a Stats call), so that seeds replay alike whatever this set
// holds. Remove an entry when its fix lands; -chaos.strict ignores the whole set.
//
// The key names a defect of the issue; a letter marks a part of one that fixes may treat
// apart.
var knownDefects = map[string]string{
	"1":  "delivery.timeout.ms expiry overwrites an acknowledged batch: it is counted twice in Stats and OnBatchDone",
	"2":  "an expired or failed transactional batch does not make the transaction abortable: CommitTransaction returns nil",
	"2s": "a Send that fails before its record is enqueued (record too large, buffer full, no metadata) does not make the transaction abortable, as Java's does (KafkaProducer.doSend → maybeTransitionToErrorState)",
	"3":  "OUT_OF_ORDER_SEQUENCE_NUMBER / UNKNOWN_PRODUCER_ID on a transactional producer stalls its partitions until delivery.timeout.ms, then the commit succeeds",
	"4":  "AbortTransaction (V1) fails numbered batches without bumping the epoch: the next transaction meets OUT_OF_ORDER_SEQUENCE_NUMBER",
	"5":  "a Send waiting for metadata or memory when CommitTransaction runs is written outside any open transaction",
	"6":  "Close from a callback never returns; Flush from a callback blocks until its ctx ends",
	"7":  "hooks run under the partition lock: a producer call from OnBatchDone deadlocks",
	"8":  "the fail-everything paths do not update Stats or call OnBatchDone, while OnRecordDone fires",
	"9":  "a failed dial counts as a failed attempt of every batch for that leader",
	"10": "a topic recreated with fewer partitions keeps the old partition count",
	"11": "a send to a partition the cluster just added fails at once with ErrInvalidRecord",
	"12": "Close(ctx) waits out a dial (or another request) in progress past its ctx",
	"14": "transaction coordinator requests are not retried after a dropped connection",
	"15": "CommitTransaction returns an error though the broker committed; the AbortTransaction after it fails",
}

// knownDefect reports whether defect d is known and not overridden by -chaos.strict.
func knownDefect(d string) bool {
	if *chaosStrict {
		return false
	}
	_, ok := knownDefects[d]
	return ok
}

// excuse returns the first of defects that is known, or "".
func excuse(defects []string) string {
	for _, d := range defects {
		if knownDefect(d) {
			return d
		}
	}
	return ""
}

// defectList formats a set of defect names, sorted numerically.
func defectList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ni, _ := strconv.Atoi(strings.TrimRight(keys[i], "abcdefghijklmnopqrstuvwxyz"))
		nj, _ := strconv.Atoi(strings.TrimRight(keys[j], "abcdefghijklmnopqrstuvwxyz"))
		if ni != nj {
			return ni < nj
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		if n := m[k]; n > 0 {
			b.WriteString("×")
			b.WriteString(strconv.Itoa(n))
		}
	}
	return b.String()
}
