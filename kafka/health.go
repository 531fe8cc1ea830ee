package kafka

// Partitions returns the number of partitions assigned to the processor
// now. It is 0 before the first assignment and after shutdown.
func (p *Processor) Partitions() int {
	p.assignMu.RLock()
	defer p.assignMu.RUnlock()
	return len(p.parts)
}
