package rules

// Tree returns the rule's compiled condition as a tree: the condition with
// its appends and exceptions, lists expanded and macro references replaced
// by the macros' trees. The tree is shared; callers must not modify it.
func (r *Rule) Tree() Expr { return r.tree }

// inline copies e with every macro use replaced by the macro's body.
func inline(e Expr) Expr {
	switch n := e.(type) {
	case *AndExpr:
		kids := make([]Expr, len(n.Kids))
		for i, k := range n.Kids {
			kids[i] = inline(k)
		}
		return &AndExpr{Kids: kids, Pos: n.Pos}
	case *OrExpr:
		kids := make([]Expr, len(n.Kids))
		for i, k := range n.Kids {
			kids[i] = inline(k)
		}
		return &OrExpr{Kids: kids, Pos: n.Pos}
	case *NotExpr:
		return &NotExpr{Kid: inline(n.Kid), Pos: n.Pos}
	case *macroUse:
		return inline(n.Body)
	}
	return e
}
