package blobapi

// leaseContainer answers Lease Container: the actions and headers of Lease
// Blob; of the conditional headers Azure takes only If-Modified-Since and
// If-Unmodified-Since here.
func (c *call) leaseContainer() {
	req, ok := c.leaseRequest()
	if !ok {
		return
	}
	cond := conditions(c.r.Header, "")
	if cond.IfMatch != "" || cond.IfNoneMatch != "" {
		c.unsupportedHeader()
		return
	}
	res, err := c.st.LeaseContainer(c.addr.Account, c.addr.Container, req, cond)
	if err != nil {
		c.storeErr(err)
		return
	}
	c.answerLease(req, res)
}
