package printers

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Pipeline draws a project's graph as topological layers: warehouses first (layer 0),
// then each Stage one layer below its deepest upstream, with its Freight alias, health,
// and an arrow to the Stages that take Freight from it. Stages on a cycle are marked.
func Pipeline(w io.Writer, warehouses []haulv1.Warehouse, stages []haulv1.Stage) error {
	byName := map[string]*haulv1.Stage{}
	for i := range stages {
		byName[stages[i].Name] = &stages[i]
	}
	downstream := map[string][]string{}
	fromWarehouse := map[string][]string{}
	for _, s := range stages {
		for _, r := range s.Spec.RequestedFreight {
			if r.Sources.Direct {
				fromWarehouse[r.Origin.Name] = appendUnique(fromWarehouse[r.Origin.Name], s.Name)
			}
			for _, up := range r.Sources.Stages {
				downstream[up] = appendUnique(downstream[up], s.Name)
			}
		}
	}
	layers := map[string]int{}
	onCycle := map[string]bool{}
	var layerOf func(name string, visiting map[string]bool) int
	layerOf = func(name string, visiting map[string]bool) int {
		if l, ok := layers[name]; ok {
			return l
		}
		if visiting[name] {
			onCycle[name] = true
			return 0
		}
		visiting[name] = true
		defer delete(visiting, name)
		l := 1
		if s, ok := byName[name]; ok {
			for _, r := range s.Spec.RequestedFreight {
				for _, up := range r.Sources.Stages {
					if _, known := byName[up]; known {
						if ul := layerOf(up, visiting) + 1; ul > l {
							l = ul
						}
					}
				}
			}
		}
		layers[name] = l
		return l
	}
	for _, s := range stages {
		layerOf(s.Name, map[string]bool{})
	}

	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	whs := append([]haulv1.Warehouse{}, warehouses...)
	sort.Slice(whs, func(i, j int) bool { return whs[i].Name < whs[j].Name })
	for _, wh := range whs {
		_, _ = fmt.Fprintf(tw, "0\t◆ %s\twarehouse\t\t%s\n", wh.Name, arrow(fromWarehouse[wh.Name]))
	}
	sorted := append([]haulv1.Stage{}, stages...)
	sort.Slice(sorted, func(i, j int) bool {
		li, lj := layers[sorted[i].Name], layers[sorted[j].Name]
		if li != lj {
			return li < lj
		}
		return sorted[i].Name < sorted[j].Name
	})
	for _, s := range sorted {
		health := string(haulv1.HealthUnknown)
		if s.Status.Health != nil && s.Status.Health.Status != "" {
			health = string(s.Status.Health.Status)
		}
		if onCycle[s.Name] {
			health += " (cycle!)"
		}
		freight := s.Status.FreightSummary
		if freight == "" {
			freight = "-"
		}
		_, _ = fmt.Fprintf(tw, "%d\t● %s\t%s\t%s\t%s\n", layers[s.Name], s.Name, freight, health, arrow(downstream[s.Name]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func arrow(to []string) string {
	if len(to) == 0 {
		return ""
	}
	sort.Strings(to)
	return "──▶ " + strings.Join(to, ", ")
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
