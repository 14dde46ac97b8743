package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of every Haul resource.
var GroupVersion = schema.GroupVersion{Group: "haul.dev", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the Haul types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the Haul types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Project{}, &ProjectList{},
		&ProjectConfig{}, &ProjectConfigList{},
		&ClusterConfig{}, &ClusterConfigList{},
		&Warehouse{}, &WarehouseList{},
		&Freight{}, &FreightList{},
		&Stage{}, &StageList{},
		&Promotion{}, &PromotionList{},
		&PromotionTask{}, &PromotionTaskList{},
		&ClusterPromotionTask{}, &ClusterPromotionTaskList{},
		&MessageChannel{}, &MessageChannelList{},
		&ClusterMessageChannel{}, &ClusterMessageChannelList{},
		&EventRouter{}, &EventRouterList{},
		&ClusterEventRouter{}, &ClusterEventRouterList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
