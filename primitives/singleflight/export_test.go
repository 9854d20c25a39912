package singleflight

import "github.com/blockscope/blockscope/internal/wire"

// ObjectID exposes the group's annotation id to the tests.
func ObjectID(g *Group) wire.ObjectID { return g.ident.ID() }
