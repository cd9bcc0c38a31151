package agent

import (
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/engine"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/prefilter"
	"github.com/vigilsec/vigil/pkg/probe"
	vrules "github.com/vigilsec/vigil/pkg/rules"
	defaultrules "github.com/vigilsec/vigil/rules"
)

// stateTypes are the event types the process and fd tables need whatever
// the rules say: process lifecycle, cwd, and socket and descriptor setup.
var stateTypes = []event.Type{
	event.TypeExecve, event.TypeExecveat, event.TypeFork, event.TypeVfork, event.TypeClone,
	event.TypeClone3, event.TypeProcExit, event.TypeChdir, event.TypeFchdir, event.TypeClose,
	event.TypeDup, event.TypeDup2, event.TypeDup3, event.TypeSocket, event.TypeConnect,
	event.TypeBind, event.TypeAccept, event.TypeAccept4,
}

// kernelTypes is the syscall set the kernel must emit: what the rules can
// match plus what state tracking needs.
func kernelTypes(rs *vrules.Ruleset) []event.Type {
	types := append(slices.Clone(stateTypes), rs.EventTypes()...)
	slices.Sort(types)
	return slices.Compact(types)
}

// loadRules loads the rules files in order, or the built-in defaults when
// none is named. Warnings are logged; errors name file, line and column.
func loadRules(files []string, log *zap.Logger) (*vrules.Ruleset, error) {
	var (
		rs    *vrules.Ruleset
		warns []vrules.Warning
		err   error
	)
	if len(files) == 0 {
		rs, warns, err = defaultrules.Load()
	} else {
		rs, warns, err = vrules.Load(files...)
	}
	for _, w := range warns {
		log.Warn("rules warning", zap.String("warning", w.String()))
	}
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return rs, nil
}

// reloadRules loads the rules again and, when they load, swaps them into
// the engine and updates the kernel's syscall set in place. On error the
// running rules stay.
func reloadRules(files []string, eng *engine.Engine, pr *probe.Probe, log *zap.Logger, reason string) error {
	rs, err := loadRules(files, log)
	if err != nil {
		log.Error("rules reload failed; the running rules stay", zap.String("reason", reason), zap.Error(err))
		return err
	}
	// Widen the kernel set before the swap and narrow it after, so that
	// no event a rule of either set needs is missed across the swap.
	old := eng.Ruleset()
	union := kernelTypes(rs)
	if old != nil {
		union = append(union, kernelTypes(old)...)
		slices.Sort(union)
		union = slices.Compact(union)
	}
	if err := pr.SetEventTypes(union); err != nil {
		log.Error("rules reload: kernel syscall set not updated; the running rules stay", zap.Error(err))
		return err
	}
	// The same for the prefilter: the union of both rulesets' filters
	// while the engine swaps, then the new one.
	next := prefilter.Derive(rs)
	across := next
	if old != nil {
		across = prefilter.Union(prefilter.Derive(old), next)
	}
	if err := pr.SetPrefilter(across.Compile()); err != nil {
		// Fail open: without a prefilter the kernel ships every event.
		if err := pr.SetPrefilter(nil); err != nil {
			log.Error("rules reload: kernel prefilter not updated; the running rules stay", zap.Error(err))
			return err
		}
		log.Warn("rules reload: kernel prefilter off across the swap", zap.Error(err))
	}
	eng.Swap(rs)
	if err := pr.SetEventTypes(kernelTypes(rs)); err != nil {
		log.Warn("rules reload: kernel syscall set not narrowed", zap.Error(err))
	}
	if err := pr.SetPrefilter(next.Compile()); err != nil {
		// The filter installed before the swap stays: it accepts more.
		log.Warn("rules reload: kernel prefilter not narrowed", zap.Error(err))
	}
	log.Info("rules reloaded", zap.String("reason", reason), zap.Int("rules", len(rs.Rules())), zap.Int("event_types", len(kernelTypes(rs))))
	return nil
}
