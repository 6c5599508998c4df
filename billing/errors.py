from plugin.core.errors import AppError, Conflict, NotFound, UpstreamFailed


class InvoiceFinalized(Conflict):
    error = "invoice_finalized"


class PeriodNotClosable(Conflict):
    error = "period_not_closable"


class InvoiceNotFound(NotFound):
    error = "invoice_not_found"


class ResolutionStateConflict(Conflict):
    error = "resolution_state_conflict"


class StripeNotConfigured(AppError):
    status_code = 503
    error = "stripe_not_configured"


class StripeRejected(UpstreamFailed):
    """Stripe refused a request for a reason a retry will not fix."""

    error = "stripe_rejected"


class DuplicateRejected(UpstreamFailed):
    """Stripe says the thing already exists or already happened: for us that means delivered."""

    error = "stripe_duplicate"


class LedgerIsAppendOnly(Conflict):
    error = "ledger_append_only"
