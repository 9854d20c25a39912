package semaphore

import "github.com/blockscope/blockscope/internal/wire"

// ObjectID exposes the semaphore's annotation id to the tests.
func ObjectID(s *Weighted) wire.ObjectID { return s.ident.ID() }
