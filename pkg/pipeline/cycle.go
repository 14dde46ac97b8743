package pipeline

import (
	"slices"
	"strings"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Upstreams lists the distinct upstream Stage names a Stage requests Freight from, sorted.
func Upstreams(s *haulv1.Stage) []string {
	var out []string
	for _, r := range s.Spec.RequestedFreight {
		out = append(out, r.Sources.Stages...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// FindCycle returns, for every Stage that lies on a cycle of upstream references, one
// such cycle as a path that starts and ends with that Stage, following upstream links
// (["a", "b", "a"] means a takes Freight from b and b from a). Stages not on a cycle are
// absent. References to Stages that are not in the list are ignored, so the CLI can pass
// a mix of proposed and existing Stages. Stage names are assumed unique in the list; a
// later entry replaces an earlier one of the same name (a proposed edit of a stored Stage).
func FindCycle(stages []haulv1.Stage) map[string][]string {
	graph := make(map[string][]string, len(stages))
	for i := range stages {
		graph[stages[i].Name] = Upstreams(&stages[i])
	}
	names := make([]string, 0, len(graph))
	for n := range graph {
		names = append(names, n)
	}
	slices.Sort(names)

	out := map[string][]string{}
	for _, comp := range stronglyConnected(names, graph) {
		inComp := make(map[string]bool, len(comp))
		for _, n := range comp {
			inComp[n] = true
		}
		if len(comp) == 1 && !slices.Contains(graph[comp[0]], comp[0]) {
			continue
		}
		for _, n := range comp {
			if _, done := out[n]; done {
				continue
			}
			loop := shortestLoop(n, graph, inComp)
			// Every Stage on this loop gets the same loop, rotated to start with it; that
			// keeps one huge ring linear instead of one search per member.
			ring := loop[:len(loop)-1]
			for i, m := range ring {
				if _, done := out[m]; done {
					continue
				}
				rot := append(append([]string{}, ring[i:]...), ring[:i]...)
				out[m] = append(rot, m)
			}
		}
	}
	return out
}

// FormatCycle renders a cycle path for a condition message: "a -> b -> a".
func FormatCycle(path []string) string { return strings.Join(path, " -> ") }

// stronglyConnected is Tarjan's algorithm, iterative so a 10,000-stage chain cannot
// overflow the stack.
func stronglyConnected(names []string, graph map[string][]string) [][]string {
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var comps [][]string
	next := 0

	type frame struct {
		node string
		edge int
	}
	for _, root := range names {
		if _, seen := index[root]; seen {
			continue
		}
		work := []frame{{node: root}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(work) > 0 {
			top := &work[len(work)-1]
			edges := graph[top.node]
			if top.edge < len(edges) {
				w := edges[top.edge]
				top.edge++
				if _, known := graph[w]; !known {
					continue
				}
				if _, seen := index[w]; !seen {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					work = append(work, frame{node: w})
				} else if onStack[w] {
					low[top.node] = min(low[top.node], index[w])
				}
				continue
			}
			v := top.node
			work = work[:len(work)-1]
			if len(work) > 0 {
				parent := work[len(work)-1].node
				low[parent] = min(low[parent], low[v])
			}
			if low[v] == index[v] {
				var comp []string
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				slices.Sort(comp)
				comps = append(comps, comp)
			}
		}
	}
	return comps
}

// shortestLoop finds the shortest path from start back to start inside one component.
func shortestLoop(start string, graph map[string][]string, inComp map[string]bool) []string {
	prev := map[string]string{}
	queue := []string{start}
	seen := map[string]bool{}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range graph[v] {
			if !inComp[w] {
				continue
			}
			if w == start {
				path := []string{start}
				for n := v; n != start; n = prev[n] {
					path = append(path, n)
				}
				path = append(path, start)
				// path is start, v, ..., start reversed in the middle; put it in walk order.
				slices.Reverse(path[1 : len(path)-1])
				return path
			}
			if !seen[w] {
				seen[w] = true
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []string{start, start}
}
