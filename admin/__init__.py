"""The admin console: partner approvals, fulfillment oversight, refunds, audit."""
