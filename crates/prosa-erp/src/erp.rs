//! The ERP trait every adapter implements.

use crate::error::ErpError;
use crate::types::*;
use async_trait::async_trait;
use prosa_br::Document;

/// One ISP ERP. Object-safe: the server holds an `Arc<dyn Erp>`.
///
/// Actions an adapter does not offer keep the default body, which answers
/// [`ErpError::Unsupported`]; [`Erp::capabilities`] must list exactly the others.
#[async_trait]
pub trait Erp: Send + Sync {
    /// Short name of the adapter (`mk`, `ixc`, `demo`).
    fn kind(&self) -> &'static str;

    /// The actions this adapter supports.
    fn capabilities(&self) -> Capabilities;

    /// Link health for the panel ("ERP indisponível"). Plain adapters are always `Up`; the
    /// [`crate::Resilient`] wrapper reports what it saw.
    fn health(&self) -> Health {
        Health::up()
    }

    /// Checks credentials and reachability with the cheapest authenticated call.
    async fn test_connection(&self) -> Result<(), ErpError>;

    /// Subscribers registered under a CPF/CNPJ (several registrations are common). Empty when none.
    async fn find_by_document(&self, document: &Document) -> Result<Vec<Subscriber>, ErpError> {
        let _ = document;
        Err(ErpError::Unsupported(Action::FindByDocument))
    }

    /// Subscribers with this phone number (digits, with or without 55 and area code). Empty when none.
    async fn find_by_phone(&self, phone: &str) -> Result<Vec<Subscriber>, ErpError> {
        let _ = phone;
        Err(ErpError::Unsupported(Action::FindByPhone))
    }

    /// One subscriber by ERP id; [`ErpError::NotFound`] when absent.
    async fn subscriber(&self, id: &str) -> Result<Subscriber, ErpError> {
        let _ = id;
        Err(ErpError::Unsupported(Action::FindById))
    }

    async fn contracts(&self, subscriber_id: &str) -> Result<Vec<Contract>, ErpError> {
        let _ = subscriber_id;
        Err(ErpError::Unsupported(Action::Contracts))
    }

    /// Connections with online/blocked/reduced state.
    async fn connections(&self, subscriber_id: &str) -> Result<Vec<Connection>, ErpError> {
        let _ = subscriber_id;
        Err(ErpError::Unsupported(Action::Connections))
    }

    /// Unpaid invoices (open or overdue), oldest due date first.
    async fn open_invoices(&self, subscriber_id: &str) -> Result<Vec<Invoice>, ErpError> {
        let _ = subscriber_id;
        Err(ErpError::Unsupported(Action::OpenInvoices))
    }

    /// A validated Pix copia-e-cola for an invoice.
    async fn invoice_pix(&self, invoice_id: &str) -> Result<PixCharge, ErpError> {
        let _ = invoice_id;
        Err(ErpError::Unsupported(Action::InvoicePix))
    }

    /// Trust unlock ("desbloqueio de confiança") of a connection; refusals are
    /// [`ErpError::Refused`] with a [`crate::RefusalReason`]. Never retried automatically.
    async fn trust_unlock(
        &self,
        subscriber_id: &str,
        connection_id: &str,
    ) -> Result<Unlock, ErpError> {
        let _ = (subscriber_id, connection_id);
        Err(ErpError::Unsupported(Action::TrustUnlock))
    }

    /// Outages in progress, with the affected connections when known.
    async fn outages(&self) -> Result<Vec<Outage>, ErpError> {
        Err(ErpError::Unsupported(Action::Outages))
    }

    /// The outage affecting this connection, if any.
    async fn connection_outage(&self, connection_id: &str) -> Result<Option<Outage>, ErpError> {
        Ok(self
            .outages()
            .await?
            .into_iter()
            .find(|o| o.affected_connections.iter().any(|c| c == connection_id)))
    }

    /// Opens a ticket; the answer carries the protocol.
    async fn open_ticket(&self, ticket: &NewTicket) -> Result<Ticket, ErpError> {
        let _ = ticket;
        Err(ErpError::Unsupported(Action::OpenTicket))
    }

    async fn ticket(&self, id: &str) -> Result<Ticket, ErpError> {
        let _ = id;
        Err(ErpError::Unsupported(Action::TicketStatus))
    }

    async fn tickets(&self, subscriber_id: &str) -> Result<Vec<Ticket>, ErpError> {
        let _ = subscriber_id;
        Err(ErpError::Unsupported(Action::TicketStatus))
    }

    async fn open_service_order(&self, order: &NewServiceOrder) -> Result<ServiceOrder, ErpError> {
        let _ = order;
        Err(ErpError::Unsupported(Action::OpenServiceOrder))
    }

    async fn service_orders(&self, subscriber_id: &str) -> Result<Vec<ServiceOrder>, ErpError> {
        let _ = subscriber_id;
        Err(ErpError::Unsupported(Action::ServiceOrderStatus))
    }

    async fn register_lead(&self, lead: &NewLead) -> Result<Lead, ErpError> {
        let _ = lead;
        Err(ErpError::Unsupported(Action::RegisterLead))
    }
}
