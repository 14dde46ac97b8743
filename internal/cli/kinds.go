package cli

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// kind describes one Haul resource for get, delete and error messages.
type kind struct {
	Kind       string
	Resource   string // plural, as in RBAC rules
	Singular   string
	Short      string
	Namespaced bool
	newObject  func() client.Object
	newList    func() client.ObjectList
}

var kinds = []kind{
	{"Project", "projects", "project", "proj", false, func() client.Object { return &haulv1.Project{} }, func() client.ObjectList { return &haulv1.ProjectList{} }},
	{"ProjectConfig", "projectconfigs", "projectconfig", "projcfg", true, func() client.Object { return &haulv1.ProjectConfig{} }, func() client.ObjectList { return &haulv1.ProjectConfigList{} }},
	{"ClusterConfig", "clusterconfigs", "clusterconfig", "", false, func() client.Object { return &haulv1.ClusterConfig{} }, func() client.ObjectList { return &haulv1.ClusterConfigList{} }},
	{"Warehouse", "warehouses", "warehouse", "wh", true, func() client.Object { return &haulv1.Warehouse{} }, func() client.ObjectList { return &haulv1.WarehouseList{} }},
	{"Freight", "freights", "freight", "", true, func() client.Object { return &haulv1.Freight{} }, func() client.ObjectList { return &haulv1.FreightList{} }},
	{"Stage", "stages", "stage", "stg", true, func() client.Object { return &haulv1.Stage{} }, func() client.ObjectList { return &haulv1.StageList{} }},
	{"Promotion", "promotions", "promotion", "promo", true, func() client.Object { return &haulv1.Promotion{} }, func() client.ObjectList { return &haulv1.PromotionList{} }},
	{"PromotionTask", "promotiontasks", "promotiontask", "pt", true, func() client.Object { return &haulv1.PromotionTask{} }, func() client.ObjectList { return &haulv1.PromotionTaskList{} }},
	{"ClusterPromotionTask", "clusterpromotiontasks", "clusterpromotiontask", "cpt", false, func() client.Object { return &haulv1.ClusterPromotionTask{} }, func() client.ObjectList { return &haulv1.ClusterPromotionTaskList{} }},
	{"MessageChannel", "messagechannels", "messagechannel", "mc", true, func() client.Object { return &haulv1.MessageChannel{} }, func() client.ObjectList { return &haulv1.MessageChannelList{} }},
	{"ClusterMessageChannel", "clustermessagechannels", "clustermessagechannel", "cmc", false, func() client.Object { return &haulv1.ClusterMessageChannel{} }, func() client.ObjectList { return &haulv1.ClusterMessageChannelList{} }},
	{"EventRouter", "eventrouters", "eventrouter", "er", true, func() client.Object { return &haulv1.EventRouter{} }, func() client.ObjectList { return &haulv1.EventRouterList{} }},
	{"ClusterEventRouter", "clustereventrouters", "clustereventrouter", "cer", false, func() client.Object { return &haulv1.ClusterEventRouter{} }, func() client.ObjectList { return &haulv1.ClusterEventRouterList{} }},
}

// findKind resolves what a user typed (singular, plural, short name or Kind, any case).
func findKind(name string) (*kind, error) {
	n := strings.ToLower(name)
	for i := range kinds {
		k := &kinds[i]
		if n == k.Singular || n == k.Resource || (k.Short != "" && n == k.Short) || n == strings.ToLower(k.Kind) ||
			n == k.Singular+"."+haulv1.GroupVersion.Group || n == k.Resource+"."+haulv1.GroupVersion.Group {
			return k, nil
		}
	}
	return nil, fmt.Errorf("unknown resource type %q (known: %s)", name, strings.Join(kindNames(), ", "))
}

func kindByKind(k string) *kind {
	for i := range kinds {
		if kinds[i].Kind == k {
			return &kinds[i]
		}
	}
	return nil
}

func kindNames() []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.Resource)
	}
	sort.Strings(out)
	return out
}

// resourceName is kubectl's kind.group/name form: stage.haul.dev/prod.
func (k *kind) resourceName(name string) string {
	return k.Singular + "." + haulv1.GroupVersion.Group + "/" + name
}
