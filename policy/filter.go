package policy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// FilterAction is what the filter does with a comment that has a listed
// word.
type FilterAction string

// Filter actions.
const (
	// FilterReject refuses the comment with ErrContentRejected (ingest:
	// 422 content_rejected).
	FilterReject FilterAction = "reject"
	// FilterMask replaces each character of every listed word with '*'.
	FilterMask FilterAction = "mask"
)

// Limits of a word list file.
const (
	maxWordListBytes = 16 << 20
	maxWordBytes     = 1024
)

// Filter is the sensitive-word filter: it finds the words of a word list
// file in comments, ignoring case and the full-width forms of ASCII
// (U+FF01–U+FF5E, and U+3000 as a space), with an Aho–Corasick automaton,
// so one pass over a comment finds every word however long the list.
// Reload replaces the list while the server runs. It is safe for
// concurrent use.
type Filter struct {
	// Immutable after LoadFilter.
	path   string
	action FilterAction

	// current is the automaton of the list in force.
	current atomic.Pointer[matcher]
	// reloading serializes Reload.
	reloading sync.Mutex
}

// LoadFilter reads the word list at path and returns a Filter with action.
// The file is UTF-8 text, one word or phrase per line; leading and
// trailing spaces are trimmed, and empty lines and lines starting with '#'
// are skipped.
func LoadFilter(path string, action FilterAction) (*Filter, error) {
	if action != FilterReject && action != FilterMask {
		return nil, fmt.Errorf("policy: filter action %q: want %q or %q", action, FilterReject, FilterMask)
	}
	f := &Filter{path: path, action: action}
	if _, err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Reload reads the word list file again and puts it in force, returning
// its number of words. On an error the list in force stays.
func (f *Filter) Reload() (int, error) {
	f.reloading.Lock()
	defer f.reloading.Unlock()
	file, err := os.Open(f.path)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrWordList, err)
	}
	defer file.Close()
	words, err := parseWordList(file)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrWordList, f.path, err)
	}
	m := newMatcher(words)
	f.current.Store(m)
	return len(words), nil
}

// Words returns the number of words in force.
func (f *Filter) Words() int { return f.current.Load().words }

// Action returns what the filter does with a comment that has a word.
func (f *Filter) Action() FilterAction { return f.action }

// parseWordList reads a word list (see LoadFilter).
func parseWordList(r io.Reader) ([]string, error) {
	var words []string
	limited := &io.LimitedReader{R: r, N: maxWordListBytes + 1}
	scanner := bufio.NewScanner(limited)
	scanner.Buffer(make([]byte, 0, maxWordBytes), maxWordBytes)
	line := 0
	for scanner.Scan() {
		line++
		word := strings.TrimSpace(scanner.Text())
		switch {
		case word == "" || strings.HasPrefix(word, "#"):
			continue
		case !utf8.ValidString(word):
			return nil, fmt.Errorf("line %d: not UTF-8", line)
		}
		words = append(words, word)
	}
	switch err := scanner.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		return nil, fmt.Errorf("line %d: longer than %d bytes", line+1, maxWordBytes)
	case err != nil:
		return nil, err
	case limited.N == 0:
		return nil, fmt.Errorf("larger than %d bytes", maxWordListBytes)
	}
	return words, nil
}

// fold maps a rune to the form words are compared in: full-width ASCII to
// ASCII, the ideographic space to a space, then lower case. It maps one
// rune to one rune, so a match in folded text is a match at the same rune
// positions of the original.
func fold(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		r -= 0xFF01 - '!'
	case r == 0x3000:
		return ' '
	}
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}

// edge is a transition of the automaton.
type edge struct {
	from int32
	r    rune
}

// matcher is an Aho–Corasick automaton over folded runes. Node 0 is the
// root.
type matcher struct {
	next map[edge]int32
	fail []int32
	// longest is the length, in runes, of the longest word that ends at
	// the node, itself or through its failure links; 0 for none. Every
	// word ending at a position is a suffix of the longest one, so marking
	// the longest marks them all.
	longest []int32
	words   int
}

func newMatcher(words []string) *matcher {
	m := &matcher{next: make(map[edge]int32), fail: []int32{0}, longest: []int32{0}, words: len(words)}
	for _, w := range words {
		node, n := int32(0), int32(0)
		for _, r := range w {
			r = fold(r)
			n++
			child, ok := m.next[edge{node, r}]
			if !ok {
				child = int32(len(m.fail))
				m.next[edge{node, r}] = child
				m.fail = append(m.fail, 0)
				m.longest = append(m.longest, 0)
			}
			node = child
		}
		m.longest[node] = max(m.longest[node], n)
	}
	// Breadth-first, so that a node's failure target is complete first.
	children := make(map[int32][]edge, len(m.fail))
	for e := range m.next {
		children[e.from] = append(children[e.from], e)
	}
	queue := []int32{0}
	for len(queue) > 0 {
		node := queue[0]
		queue = queue[1:]
		for _, e := range children[node] {
			child := m.next[e]
			if node != 0 {
				m.fail[child] = m.step(m.fail[node], e.r)
			}
			m.longest[child] = max(m.longest[child], m.longest[m.fail[child]])
			queue = append(queue, child)
		}
	}
	return m
}

// step returns the node after reading folded rune r at node.
func (m *matcher) step(node int32, r rune) int32 {
	for {
		if next, ok := m.next[edge{node, r}]; ok {
			return next
		}
		if node == 0 {
			return 0
		}
		node = m.fail[node]
	}
}

// contains reports whether text has a word.
func (m *matcher) contains(text string) bool {
	node := int32(0)
	for _, r := range text {
		node = m.step(node, fold(r))
		if m.longest[node] > 0 {
			return true
		}
	}
	return false
}

// mask returns text with every rune of every word replaced by '*'.
func (m *matcher) mask(text string) string {
	if !m.contains(text) {
		return text
	}
	runes := []rune(text)
	node := int32(0)
	for i, r := range runes {
		node = m.step(node, fold(r))
		for j := i - int(m.longest[node]) + 1; j <= i; j++ {
			runes[j] = '*'
		}
	}
	return string(runes)
}

// filterHook applies the Filter to the comment's text and name.
type filterHook struct {
	builtin
	filter *Filter
}

func (filterHook) Name() string { return "filter" }

func (h filterHook) Before(ctx context.Context, c *Comment) error {
	m := h.filter.current.Load()
	if h.filter.action == FilterReject {
		if m.contains(c.Message.Text) || m.contains(c.Message.Name) {
			return ErrContentRejected
		}
		return nil
	}
	c.Message.Text = m.mask(c.Message.Text)
	c.Message.Name = m.mask(c.Message.Name)
	return nil
}
