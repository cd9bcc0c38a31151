package alert

import "testing"

func TestParsePriority(t *testing.T) {
	tests := []struct {
		in   string
		want Priority
		err  bool
	}{
		{"EMERGENCY", PriorityEmergency, false},
		{"Warning", PriorityWarning, false},
		{"info", PriorityInformational, false},
		{"INFORMATIONAL", PriorityInformational, false},
		{" debug ", PriorityDebug, false},
		{"loud", 0, true},
	}
	for _, tt := range tests {
		got, err := ParsePriority(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParsePriority(%q) = %v, %v", tt.in, got, err)
		}
	}
	if PriorityInformational.String() != "Informational" {
		t.Errorf("String = %q", PriorityInformational.String())
	}
	if !PriorityCritical.AtLeast(PriorityWarning) || PriorityDebug.AtLeast(PriorityNotice) {
		t.Error("AtLeast ordering wrong")
	}
}
