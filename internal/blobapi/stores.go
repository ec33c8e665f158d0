package blobapi

import "github.com/geoblob/geoblob/internal/store"

// WithStores returns a Server configured as s but serving primary and
// secondary: the emulator builds one per role assignment and switches
// between them when a failover swaps the copies.
func (s *Server) WithStores(primary, secondary *store.Store) *Server {
	cfg := s.cfg
	cfg.Primary, cfg.Secondary = primary, secondary
	return &Server{cfg: cfg, log: s.log}
}
