//! The dialogue engine.

use crate::texts::BotTexts;
use crate::types::*;
use crate::understand::intents as i;
use crate::util::{self, DocumentRead, normalize, render};
use prosa_br::{Document, DocumentError};
use prosa_domain::message::{Attachment, MessageContent, MessageOption};
use prosa_erp::{
    Connection, ErpError, Invoice, InvoiceStatus, NewLead, NewServiceOrder, NewTicket,
    RefusalReason, ServiceOrderStatus, Subscriber, TicketStatus,
};

/// The bot: texts and settings; stateless between turns (the state is [`BotState`]).
#[derive(Debug, Clone, Default)]
pub struct Bot {
    pub texts: BotTexts,
    pub settings: BotSettings,
}

/// Intents whose action needs a confirmed identity.
fn needs_identity(intent: &str) -> bool {
    matches!(
        intent,
        i::INVOICE_COPY
            | i::PIX_PAYMENT
            | i::DEBT_INQUIRY
            | i::PAYMENT_NOTICE
            | i::TRUST_UNLOCK
            | i::NO_CONNECTION
            | i::SLOW_CONNECTION
            | i::EQUIPMENT_ISSUE
            | i::TICKET_STATUS
            | i::ADDRESS_CHANGE
            | i::PLAN_CHANGE
            | i::ACCOUNT_CHANGE
            | i::CANCELLATION
            | i::COMPLAINT
            | i::WIFI_SETTINGS
    )
}

/// The turn being built.
struct Out<'c, 'a> {
    turn: BotTurn,
    ctx: &'c BotContext<'a>,
}

impl Out<'_, '_> {
    fn say(&mut self, text: impl Into<String>) {
        self.turn.replies.push(MessageContent::text(text));
    }

    fn act(&mut self, a: BotAction) {
        self.turn.actions.push(a);
    }
}

/// An ERP failure ends the current action; the caller hands off.
type Flow = Result<(), ErpError>;

impl Bot {
    pub fn new(texts: BotTexts, settings: BotSettings) -> Bot {
        Bot { texts, settings }
    }

    fn r(&self, template: &str, vars: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = vars.to_vec();
        all.push(("empresa", &self.settings.company_name));
        render(template, &all)
    }

    /// Handles one input. Never fails: ERP trouble becomes a hand-off.
    pub async fn handle(
        &self,
        st: &mut BotState,
        input: BotInput,
        ctx: &BotContext<'_>,
    ) -> BotTurn {
        let mut out = Out {
            turn: BotTurn::default(),
            ctx,
        };
        if matches!(st.step, Step::HandedOff | Step::Closed) {
            return out.turn;
        }
        let result = match input {
            BotInput::Start => {
                self.greet(st, &mut out);
                self.ask_need(st, &mut out, None);
                Ok(())
            }
            BotInput::Timeout => {
                out.say(self.r(&self.texts.timeout, &[]));
                self.close(st, &mut out, self.settings.category_timeout.clone());
                Ok(())
            }
            BotInput::Message(m) => {
                let fresh = st.step == Step::New;
                self.greet(st, &mut out);
                self.on_message(st, &mut out, m, fresh).await
            }
        };
        if let Err(e) = result {
            self.erp_failure(st, &mut out, e);
        }
        out.turn
    }

    fn greet(&self, st: &mut BotState, out: &mut Out) {
        if !st.greeted {
            st.greeted = true;
            out.say(self.r(&self.texts.greeting, &[]));
        }
    }

    // ---- menus -------------------------------------------------------------------------------

    /// Sends `text` with options: as buttons when the channel has room, else as a numbered list.
    fn menu(&self, st: &mut BotState, out: &mut Out, text: &str, items: Vec<MenuItem>) {
        let content = if out.ctx.channel.max_options >= items.len() {
            MessageContent::text(text).with_options(
                items
                    .iter()
                    .map(|m| MessageOption {
                        id: m.id.clone(),
                        label: m.label.clone(),
                    })
                    .collect(),
            )
        } else {
            let mut t = text.to_owned();
            for (n, m) in items.iter().enumerate() {
                t.push_str(&format!("\n{}. {}", n + 1, m.label));
            }
            MessageContent::text(t)
        };
        out.turn.replies.push(content);
        st.menu = items;
    }

    fn main_menu_items(&self) -> Vec<MenuItem> {
        let t = &self.texts;
        [
            (i::INVOICE_COPY, &t.option_invoice),
            (i::NO_CONNECTION, &t.option_connection),
            (i::TRUST_UNLOCK, &t.option_unlock),
            (i::TICKET_STATUS, &t.option_tickets),
            (i::CANCELLATION, &t.option_cancellation),
            (i::COMPLAINT, &t.option_complaint),
            (i::HUMAN_AGENT, &t.option_human),
        ]
        .into_iter()
        .map(|(id, label)| MenuItem {
            id: id.into(),
            label: label.clone(),
        })
        .collect()
    }

    fn main_menu(&self, st: &mut BotState, out: &mut Out, text: &str) {
        let items = self.main_menu_items();
        self.menu(st, out, text, items);
    }

    fn ask_need(&self, st: &mut BotState, out: &mut Out, name: Option<&str>) {
        let text = match name {
            Some(n) => self.r(&self.texts.ask_need_named, &[("nome", n)]),
            None => self.r(&self.texts.ask_need, &[]),
        };
        self.main_menu(st, out, &text);
        st.step = Step::Request;
    }

    fn ask_yes_no(&self, st: &mut BotState, out: &mut Out, text: &str, q: Question) {
        let items = vec![
            MenuItem {
                id: "sim".into(),
                label: self.texts.option_yes.clone(),
            },
            MenuItem {
                id: "nao".into(),
                label: self.texts.option_no.clone(),
            },
        ];
        self.menu(st, out, text, items);
        st.step = Step::YesNo { question: q };
    }

    fn anything_else(&self, st: &mut BotState, out: &mut Out) {
        st.resolved = true;
        st.not_understood = 0;
        let text = self.r(&self.texts.anything_else, &[]);
        self.ask_yes_no(st, out, &text, Question::AnythingElse);
    }

    /// The menu item the subscriber picked: a button id, its number, or its label.
    fn picked(st: &BotState, m: &Inbound) -> Option<String> {
        if let Some(id) = &m.selected_option
            && let Some(item) = st.menu.iter().find(|x| &x.id == id)
        {
            return Some(item.id.clone());
        }
        let text = m.text.as_deref()?.trim();
        let n = normalize(text);
        if let Ok(k) = n.parse::<usize>() {
            return st.menu.get(k.checked_sub(1)?).map(|x| x.id.clone());
        }
        if n.is_empty() {
            return None;
        }
        st.menu
            .iter()
            .find(|x| normalize(&x.label) == n)
            .map(|x| x.id.clone())
    }

    // ---- the message ----------------------------------------------------------------------

    async fn on_message(
        &self,
        st: &mut BotState,
        out: &mut Out<'_, '_>,
        m: Inbound,
        fresh: bool,
    ) -> Flow {
        let text = m.text.clone().unwrap_or_default();
        if text.trim().is_empty() && m.selected_option.is_none() {
            // Audio, image, sticker, file or an unknown type.
            self.not_understood(st, out, &self.texts.media_unsupported.clone());
            return Ok(());
        }

        // A document or a contract number in the message: identity may have to restart.
        if !text.is_empty() && st.step != Step::Document {
            if let DocumentRead::Valid(doc) = util::read_document(&text) {
                let same = st.document.as_deref() == Some(doc.canonical());
                if !same {
                    let u = out.ctx.understand.classify(&text);
                    if st.subscriber_id.is_some() {
                        out.say(self.r(&self.texts.restart_identification, &[]));
                        self.reset_identity(st);
                    }
                    if needs_identity(&u.intent) {
                        st.pending = Some(Pending {
                            intent: u.intent,
                            text: text.clone(),
                        });
                    }
                    st.channel_identity_tried = true;
                    return self.identify_document(st, out, doc).await;
                }
            }
            if st.verified
                && let Some(number) = util::read_contract_number(&text)
            {
                let sub = st.subscriber_id.clone().unwrap_or_default();
                let contracts = out.ctx.erp.contracts(&sub).await?;
                if contracts.iter().any(|c| c.id == number) {
                    st.contract_id = Some(number);
                } else {
                    out.say(self.r(&self.texts.restart_identification, &[]));
                    self.reset_identity(st);
                    st.channel_identity_tried = true;
                    let u = out.ctx.understand.classify(&text);
                    if needs_identity(&u.intent) {
                        st.pending = Some(Pending {
                            intent: u.intent,
                            text: text.clone(),
                        });
                    }
                    return self.proceed(st, out).await;
                }
            }
        }

        // A button of an earlier main menu ("Cancelamento", "Falar com atendente") still works.
        if let Some(id) = m.selected_option.as_deref()
            && i::ALL.contains(&id)
            && !st.menu.iter().any(|x| x.id == id)
        {
            return self.dispatch(st, out, id.to_owned(), 1.0, &text).await;
        }

        match st.step.clone() {
            Step::Document => self.on_document(st, out, &text).await,
            Step::Confirmation => self.on_confirmation(st, out, &text).await,
            Step::SubscriberChoice => match Self::picked(st, &m) {
                Some(id) => {
                    st.subscriber_id = Some(id.trim_start_matches("cadastro:").to_owned());
                    st.not_understood = 0;
                    self.proceed(st, out).await
                }
                None => self.choice_not_understood(st, out, &text).await,
            },
            Step::ContractChoice => {
                match Self::picked(st, &m).or_else(|| pick_by_word(&st.menu, &text)) {
                    Some(id) => {
                        st.contract_id = Some(id.trim_start_matches("contrato:").to_owned());
                        st.contracts_checked = true;
                        st.not_understood = 0;
                        self.proceed(st, out).await
                    }
                    None => self.choice_not_understood(st, out, &text).await,
                }
            }
            Step::YesNo { question } => {
                let picked = Self::picked(st, &m);
                if picked.is_none() && !text.is_empty() {
                    let u = out.ctx.understand.classify(&text);
                    let always = matches!(
                        u.intent.as_str(),
                        i::HUMAN_AGENT | i::CANCELLATION | i::COMPLAINT
                    );
                    // "não, quero falar com atendente"; after "algo mais?", "sim, a segunda via".
                    let new_request = question == Question::AnythingElse
                        && (needs_identity(&u.intent) || u.intent == i::NEW_SERVICE);
                    if (always || new_request) && u.confidence >= self.settings.min_confidence {
                        return self.dispatch(st, out, u.intent, u.confidence, &text).await;
                    }
                }
                let answer = match picked.as_deref() {
                    Some("sim") => Some(true),
                    Some("nao") => Some(false),
                    _ => util::read_yes_no(&text),
                };
                match answer {
                    Some(yes) => {
                        st.not_understood = 0;
                        self.on_yes_no(st, out, question, yes).await
                    }
                    None => {
                        let u = out.ctx.understand.classify(&text);
                        match u.intent.as_str() {
                            i::AFFIRM => self.on_yes_no(st, out, question, true).await,
                            i::DENY => self.on_yes_no(st, out, question, false).await,
                            _ => self.dispatch(st, out, u.intent, u.confidence, &text).await,
                        }
                    }
                }
            }
            Step::New | Step::Request => {
                if let Some(id) = Self::picked(st, &m)
                    && i::ALL.contains(&id.as_str())
                {
                    return self.dispatch(st, out, id, 1.0, &text).await;
                }
                let u = out.ctx.understand.classify(&text);
                if fresh && u.intent == i::GREETING {
                    self.ask_need(st, out, None);
                    return Ok(());
                }
                self.dispatch(st, out, u.intent, u.confidence, &text).await
            }
            Step::HandedOff | Step::Closed => Ok(()),
        }
    }

    fn reset_identity(&self, st: &mut BotState) {
        st.subscriber_id = None;
        st.document = None;
        st.verified = false;
        st.by_phone = false;
        st.confirmation = None;
        st.contract_id = None;
        st.contracts_checked = false;
        st.contracts.clear();
        st.confirmation_failures = 0;
    }

    fn not_understood(&self, st: &mut BotState, out: &mut Out, text: &str) {
        st.not_understood += 1;
        if st.not_understood >= self.settings.max_not_understood {
            self.hand_off(st, out, HandOffReason::NotUnderstood, None, None, None);
        } else {
            let text = self.r(text, &[]);
            match st.step {
                // Keep the current question's options when one is pending.
                Step::YesNo { .. } | Step::SubscriberChoice | Step::ContractChoice
                    if !st.menu.is_empty() =>
                {
                    let items = st.menu.clone();
                    self.menu(st, out, &text, items);
                }
                Step::Document | Step::Confirmation => {
                    out.say(text);
                }
                _ => {
                    self.main_menu(st, out, &text);
                    st.step = Step::Request;
                }
            }
        }
    }

    async fn choice_not_understood(
        &self,
        st: &mut BotState,
        out: &mut Out<'_, '_>,
        text: &str,
    ) -> Flow {
        let u = out.ctx.understand.classify(text);
        if matches!(
            u.intent.as_str(),
            i::HUMAN_AGENT | i::CANCELLATION | i::COMPLAINT | i::GOODBYE
        ) {
            return self.dispatch(st, out, u.intent, u.confidence, text).await;
        }
        self.not_understood(st, out, &self.texts.invalid_choice.clone());
        Ok(())
    }

    // ---- understanding a request ------------------------------------------------------------

    async fn dispatch(
        &self,
        st: &mut BotState,
        out: &mut Out<'_, '_>,
        intent: String,
        confidence: f32,
        text: &str,
    ) -> Flow {
        if confidence < self.settings.min_confidence
            || matches!(intent.as_str(), i::AFFIRM | i::DENY)
        {
            self.not_understood(st, out, &self.texts.not_understood.clone());
            return Ok(());
        }
        st.not_understood = 0;
        match intent.as_str() {
            i::OUT_OF_SCOPE => {
                st.step = Step::Request;
                self.not_understood(st, out, &self.texts.out_of_scope.clone());
                Ok(())
            }
            i::GREETING => {
                let name = self.verified_name(st, out).await;
                self.ask_need(st, out, name.as_deref());
                Ok(())
            }
            i::GOODBYE => {
                out.say(self.r(&self.texts.goodbye, &[]));
                let category = if st.resolved {
                    self.settings.category_resolved.clone()
                } else {
                    self.settings.category_no_request.clone()
                };
                self.close(st, out, category);
                Ok(())
            }
            i::HUMAN_AGENT => {
                self.hand_off(
                    st,
                    out,
                    HandOffReason::Requested,
                    team_hint(text),
                    Some(intent),
                    None,
                );
                Ok(())
            }
            i::NEW_SERVICE => self.new_service(st, out, text).await,
            i::CANCELLATION | i::COMPLAINT
                if !st.verified
                    && matches!(
                        st.step,
                        Step::Document | Step::Confirmation | Step::SubscriberChoice
                    ) =>
            {
                // Asked in the middle of identification: never conditioned on data, a person takes it.
                let reason = if intent == i::CANCELLATION {
                    HandOffReason::Cancellation
                } else {
                    HandOffReason::Complaint
                };
                let team = team_for(&intent);
                self.hand_off(st, out, reason, team, Some(intent), None);
                Ok(())
            }
            i::PROVIDE_DOCUMENT => {
                // A valid document was handled before; this one is not valid.
                if let DocumentRead::Invalid(e) = util::read_document(text) {
                    out.say(self.document_error(e));
                    st.step = Step::Document;
                    return Ok(());
                }
                self.proceed(st, out).await
            }
            _ => {
                // "a internet da casa de praia": the request names another of the contracts.
                if st.verified
                    && let Some(id) = pick_by_word(&st.contracts, text)
                {
                    st.contract_id = Some(id.trim_start_matches("contrato:").to_owned());
                }
                st.pending = Some(Pending {
                    intent,
                    text: text.to_owned(),
                });
                self.proceed(st, out).await
            }
        }
    }

    async fn verified_name(&self, st: &BotState, out: &Out<'_, '_>) -> Option<String> {
        if !st.verified {
            return None;
        }
        let id = st.subscriber_id.as_deref()?;
        out.ctx
            .erp
            .subscriber(id)
            .await
            .ok()
            .map(|s| display_name(&s))
    }

    /// Moves the conversation forward: identify, confirm, choose the contract, then act.
    async fn proceed(&self, st: &mut BotState, out: &mut Out<'_, '_>) -> Flow {
        let erp = out.ctx.erp;
        if st.subscriber_id.is_none() && !st.channel_identity_tried {
            st.channel_identity_tried = true;
            self.identify_by_channel(st, out).await?;
        }
        let Some(sub_id) = st.subscriber_id.clone() else {
            out.say(self.r(&self.texts.ask_document, &[]));
            st.step = Step::Document;
            st.menu.clear();
            return Ok(());
        };
        if !st.verified {
            let subscriber = erp.subscriber(&sub_id).await?;
            return self.ask_confirmation(st, out, &subscriber).await;
        }
        if !st.contracts_checked {
            let contracts: Vec<_> = erp
                .contracts(&sub_id)
                .await?
                .into_iter()
                .filter(|c| c.status != prosa_erp::ContractStatus::Cancelled)
                .collect();
            if contracts.len() > 1 {
                let connections = erp.connections(&sub_id).await.unwrap_or_default();
                let items: Vec<MenuItem> = contracts
                    .iter()
                    .map(|c| {
                        let place = connections
                            .iter()
                            .find(|x| x.contract_id.as_deref() == Some(&c.id))
                            .and_then(|x| x.address.clone())
                            .or_else(|| c.address.as_ref().and_then(|a| a.full.clone()));
                        let plan = c
                            .plan
                            .clone()
                            .unwrap_or_else(|| format!("Contrato {}", c.id));
                        MenuItem {
                            id: format!("contrato:{}", c.id),
                            label: match place {
                                Some(p) => format!("{plan} ({p})"),
                                None => plan,
                            },
                        }
                    })
                    .collect();
                let text = self.r(&self.texts.choose_contract, &[]);
                st.contracts = items.clone();
                self.menu(st, out, &text, items);
                st.step = Step::ContractChoice;
                return Ok(());
            }
            st.contract_id = contracts.first().map(|c| c.id.clone());
            st.contracts_checked = true;
        }
        match st.pending.take() {
            Some(p) => self.act(st, out, &p.intent, &p.text).await,
            None => {
                let name = self.verified_name(st, out).await;
                self.ask_need(st, out, name.as_deref());
                Ok(())
            }
        }
    }

    // ---- identification ---------------------------------------------------------------------

    async fn identify_by_channel(&self, st: &mut BotState, out: &mut Out<'_, '_>) -> Flow {
        let erp = out.ctx.erp;
        let contact = &out.ctx.contact;
        if let Some(id) = &contact.erp_subscriber_id {
            match erp.subscriber(id).await {
                Ok(s) => {
                    st.subscriber_id = Some(s.id);
                    st.document = s.document;
                    return Ok(());
                }
                Err(ErpError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(doc) = contact
            .document
            .as_deref()
            .and_then(|d| Document::parse(d).ok())
        {
            let found = erp.find_by_document(&doc).await?;
            if let [s] = found.as_slice() {
                st.subscriber_id = Some(s.id.clone());
                st.document = Some(doc.canonical().to_owned());
                return Ok(());
            }
        }
        if let Some(phone) = &contact.phone {
            match erp.find_by_phone(phone).await {
                Ok(found) => {
                    if let [s] = found.as_slice() {
                        st.subscriber_id = Some(s.id.clone());
                        st.document = s.document.clone();
                        st.by_phone = true;
                    }
                }
                Err(
                    ErpError::Unsupported(_) | ErpError::InvalidRequest(_) | ErpError::NotFound,
                ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn document_error(&self, e: DocumentError) -> String {
        let t = &self.texts;
        self.r(
            match e {
                DocumentError::WrongLength => &t.document_wrong_length,
                DocumentError::CheckDigits => &t.document_check_digits,
                DocumentError::RepeatedDigits => &t.document_repeated_digits,
                DocumentError::InvalidCharacter => &t.document_invalid_character,
            },
            &[],
        )
    }

    async fn on_document(&self, st: &mut BotState, out: &mut Out<'_, '_>, text: &str) -> Flow {
        match util::read_document(text) {
            DocumentRead::Valid(doc) => self.identify_document(st, out, doc).await,
            DocumentRead::Invalid(e) => {
                if st.document_failures + 1 < self.settings.max_document_attempts {
                    out.say(self.document_error(e));
                }
                self.document_failed(st, out);
                Ok(())
            }
            DocumentRead::None => {
                let u = out.ctx.understand.classify(text);
                match u.intent.as_str() {
                    i::HUMAN_AGENT | i::GOODBYE | i::NEW_SERVICE => {
                        self.dispatch(st, out, u.intent, u.confidence, text).await
                    }
                    i::CANCELLATION | i::COMPLAINT => {
                        // Never conditioned on giving data: a person takes it.
                        let reason = if u.intent == i::CANCELLATION {
                            HandOffReason::Cancellation
                        } else {
                            HandOffReason::Complaint
                        };
                        let team = team_for(&u.intent);
                        self.hand_off(st, out, reason, team, Some(u.intent), None);
                        Ok(())
                    }
                    intent
                        if needs_identity(intent)
                            && u.confidence >= self.settings.min_confidence =>
                    {
                        st.pending = Some(Pending {
                            intent: u.intent.clone(),
                            text: text.to_owned(),
                        });
                        out.say(self.r(&self.texts.ask_document, &[]));
                        Ok(())
                    }
                    _ => {
                        self.not_understood(st, out, &self.texts.ask_document.clone());
                        Ok(())
                    }
                }
            }
        }
    }

    fn document_failed(&self, st: &mut BotState, out: &mut Out) {
        st.document_failures += 1;
        st.step = Step::Document;
        if st.document_failures >= self.settings.max_document_attempts {
            self.hand_off(
                st,
                out,
                HandOffReason::IdentificationFailed,
                None,
                pending_intent(st),
                None,
            );
        }
    }

    async fn identify_document(
        &self,
        st: &mut BotState,
        out: &mut Out<'_, '_>,
        doc: Document,
    ) -> Flow {
        let found = out.ctx.erp.find_by_document(&doc).await?;
        match found.as_slice() {
            [] => {
                if st.document_failures + 1 < self.settings.max_document_attempts {
                    out.say(self.r(
                        &self.texts.document_not_found,
                        &[("documento", &doc.masked())],
                    ));
                }
                self.document_failed(st, out);
                Ok(())
            }
            [s] => {
                st.subscriber_id = Some(s.id.clone());
                st.document = Some(doc.canonical().to_owned());
                self.proceed(st, out).await
            }
            many => {
                st.document = Some(doc.canonical().to_owned());
                let items = many
                    .iter()
                    .map(|s| MenuItem {
                        id: format!("cadastro:{}", s.id),
                        label: self.r(
                            &self.texts.subscriber_label,
                            &[("codigo", &s.id), ("nome", &util::mask_name(&s.name))],
                        ),
                    })
                    .collect();
                let text = self.r(&self.texts.choose_subscriber, &[]);
                self.menu(st, out, &text, items);
                st.step = Step::SubscriberChoice;
                Ok(())
            }
        }
    }

    fn subject(&self, out: &Out, subscriber_id: &str) -> String {
        format!("{}:{}", out.ctx.erp.kind(), subscriber_id)
    }

    async fn ask_confirmation(
        &self,
        st: &mut BotState,
        out: &mut Out<'_, '_>,
        s: &Subscriber,
    ) -> Flow {
        let subject = self.subject(out, &s.id);
        let earlier = out.ctx.attempts.failed_attempts(&subject).await;
        if earlier.max(st.confirmation_failures) >= self.settings.max_confirmation_attempts {
            out.say(self.r(&self.texts.confirmation_locked, &[]));
            self.hand_off(
                st,
                out,
                HandOffReason::VerificationFailed,
                None,
                pending_intent(st),
                None,
            );
            return Ok(());
        }
        let kind = st.confirmation.or_else(|| {
            self.settings
                .confirmation
                .iter()
                .copied()
                .find(|k| expected_available(s, *k, st.by_phone))
        });
        let Some(kind) = kind else {
            // Nothing to ask: a person confirms.
            self.hand_off(
                st,
                out,
                HandOffReason::VerificationFailed,
                None,
                pending_intent(st),
                None,
            );
            return Ok(());
        };
        st.confirmation = Some(kind);
        let t = &self.texts;
        out.say(self.r(&t.confirm_intro, &[]));
        out.say(self.r(
            match kind {
                ConfirmationKind::HouseNumber => &t.ask_house_number,
                ConfirmationKind::BirthDate => &t.ask_birth_date,
                ConfirmationKind::Neighbourhood => &t.ask_neighbourhood,
                ConfirmationKind::PhoneLastDigits => &t.ask_phone_last_digits,
                ConfirmationKind::CepPrefix => &t.ask_cep_prefix,
            },
            &[],
        ));
        st.step = Step::Confirmation;
        st.menu.clear();
        Ok(())
    }

    async fn on_confirmation(&self, st: &mut BotState, out: &mut Out<'_, '_>, text: &str) -> Flow {
        let Some(sub_id) = st.subscriber_id.clone() else {
            return self.proceed(st, out).await;
        };
        let s = out.ctx.erp.subscriber(&sub_id).await?;
        let Some(kind) = st.confirmation else {
            return self.ask_confirmation(st, out, &s).await;
        };
        if answer_matches(&s, kind, text) {
            st.verified = true;
            st.not_understood = 0;
            out.say(self.r(&self.texts.confirmed, &[("nome", &display_name(&s))]));
            out.act(BotAction::LinkContact {
                document: s.document.clone().or_else(|| st.document.clone()),
                erp_subscriber_id: s.id.clone(),
            });
            return self.proceed(st, out).await;
        }
        // Someone who wants a person is never held by the questions.
        let u = out.ctx.understand.classify(text);
        if u.confidence >= self.settings.min_confidence
            && matches!(
                u.intent.as_str(),
                i::HUMAN_AGENT | i::CANCELLATION | i::COMPLAINT
            )
        {
            let reason = match u.intent.as_str() {
                i::CANCELLATION => HandOffReason::Cancellation,
                i::COMPLAINT => HandOffReason::Complaint,
                _ => HandOffReason::Requested,
            };
            let team = team_for(&u.intent).or_else(|| team_hint(text));
            self.hand_off(st, out, reason, team, Some(u.intent), None);
            return Ok(());
        }
        let subject = self.subject(out, &s.id);
        let earlier = out.ctx.attempts.failed_attempts(&subject).await;
        st.confirmation_failures += 1;
        out.act(BotAction::RecordVerificationFailure { subject });
        // `earlier` may already include this conversation's failures (stored by the server).
        let total = earlier.saturating_add(1).max(st.confirmation_failures);
        let max = self.settings.max_confirmation_attempts;
        if total >= max {
            out.say(self.r(&self.texts.confirmation_locked, &[]));
            self.hand_off(
                st,
                out,
                HandOffReason::VerificationFailed,
                None,
                pending_intent(st),
                None,
            );
        } else {
            out.say(self.r(
                &self.texts.confirmation_wrong,
                &[
                    ("tentativa", &total.to_string()),
                    ("maximo", &max.to_string()),
                ],
            ));
        }
        Ok(())
    }

    // ---- endings ------------------------------------------------------------------------------

    fn hand_off(
        &self,
        st: &mut BotState,
        out: &mut Out,
        reason: HandOffReason,
        team: Option<String>,
        intent: Option<String>,
        protocol: Option<String>,
    ) {
        let t = &self.texts;
        let text = if out.ctx.queue_open {
            self.r(&t.handoff, &[])
        } else {
            match &out.ctx.next_opening {
                Some(when) => self.r(&t.handoff_out_of_hours, &[("abertura", when)]),
                None => self.r(&t.handoff_out_of_hours_unknown, &[]),
            }
        };
        out.say(text);
        out.act(BotAction::HandOff {
            reason,
            team,
            intent,
            protocol,
        });
        out.turn.handoff = true;
        st.step = Step::HandedOff;
        st.menu.clear();
    }

    fn close(&self, st: &mut BotState, out: &mut Out, category: String) {
        out.act(BotAction::Close { category });
        out.act(BotAction::RequestRating);
        out.turn.done = true;
        st.step = Step::Closed;
        st.menu.clear();
    }

    fn erp_failure(&self, st: &mut BotState, out: &mut Out, e: ErpError) {
        let (text, reason) = match e {
            ErpError::Unsupported(_) => (&self.texts.not_supported, HandOffReason::Unsupported),
            _ => (&self.texts.erp_unavailable, HandOffReason::ErpUnavailable),
        };
        out.say(self.r(text, &[]));
        let intent = pending_intent(st);
        self.hand_off(st, out, reason, None, intent, None);
    }

    async fn on_yes_no(
        &self,
        st: &mut BotState,
        out: &mut Out<'_, '_>,
        q: Question,
        yes: bool,
    ) -> Flow {
        match (q, yes) {
            (Question::AnythingElse, true) => {
                let name = self.verified_name(st, out).await;
                self.ask_need(st, out, name.as_deref());
                Ok(())
            }
            (Question::AnythingElse, false) => {
                out.say(self.r(&self.texts.goodbye, &[]));
                let category = if st.resolved {
                    self.settings.category_resolved.clone()
                } else {
                    self.settings.category_no_request.clone()
                };
                self.close(st, out, category);
                Ok(())
            }
            (Question::OfferUnlock, true) => self.act(st, out, i::TRUST_UNLOCK, "").await,
            (Question::OfferInvoice, true) => self.act(st, out, i::INVOICE_COPY, "").await,
            (Question::StepsSolved { .. }, true) => {
                out.say(self.r(&self.texts.steps_resolved, &[]));
                self.anything_else(st, out);
                Ok(())
            }
            (Question::StepsSolved { slow }, false) => {
                let subject = if slow {
                    self.texts.subject_slow_connection.clone()
                } else {
                    self.texts.subject_no_connection.clone()
                };
                let ticket = self
                    .open_ticket(
                        st,
                        out,
                        &subject,
                        "Passos básicos feitos pelo assinante sem sucesso.",
                    )
                    .await?;
                out.say(self.r(
                    &self.texts.technical_ticket_opened,
                    &[("protocolo", &ticket)],
                ));
                self.anything_else(st, out);
                Ok(())
            }
            (Question::OfferWifiTicket, true) => {
                let subject = self.texts.subject_wifi.clone();
                let protocol = self
                    .open_ticket(st, out, &subject, "Pedido pelo bot.")
                    .await?;
                out.say(self.r(
                    &self.texts.request_registered,
                    &[("assunto", &subject), ("protocolo", &protocol)],
                ));
                self.anything_else(st, out);
                Ok(())
            }
            (Question::OfferUnlock | Question::OfferInvoice | Question::OfferWifiTicket, false) => {
                self.anything_else(st, out);
                Ok(())
            }
        }
    }

    // ---- acting -------------------------------------------------------------------------------

    async fn act(
        &self,
        st: &mut BotState,
        out: &mut Out<'_, '_>,
        intent: &str,
        text: &str,
    ) -> Flow {
        st.pending = Some(Pending {
            intent: intent.to_owned(),
            text: text.to_owned(),
        });
        let r = self.act_inner(st, out, intent, text).await;
        if r.is_ok() {
            st.pending = None;
        }
        r
    }

    async fn act_inner(
        &self,
        st: &mut BotState,
        out: &mut Out<'_, '_>,
        intent: &str,
        text: &str,
    ) -> Flow {
        let t = &self.texts;
        match intent {
            i::INVOICE_COPY => self.invoice_copy(st, out).await,
            i::PIX_PAYMENT => self.pix(st, out).await,
            i::DEBT_INQUIRY => self.debts(st, out).await,
            i::PAYMENT_NOTICE => self.payment_notice(st, out).await,
            i::TRUST_UNLOCK => self.trust_unlock(st, out).await,
            i::NO_CONNECTION | i::SLOW_CONNECTION => {
                self.connection(st, out, intent == i::SLOW_CONNECTION).await
            }
            i::EQUIPMENT_ISSUE => self.equipment(st, out, text).await,
            i::TICKET_STATUS => self.ticket_status(st, out).await,
            i::WIFI_SETTINGS => {
                let text = self.r(&t.wifi_instructions, &[]);
                self.ask_yes_no(st, out, &text, Question::OfferWifiTicket);
                Ok(())
            }
            i::ADDRESS_CHANGE | i::PLAN_CHANGE | i::ACCOUNT_CHANGE => {
                let subject = match intent {
                    i::ADDRESS_CHANGE => &t.subject_address_change,
                    i::PLAN_CHANGE => &t.subject_plan_change,
                    _ => &t.subject_account_change,
                };
                let protocol = self.open_ticket(st, out, subject, text).await?;
                out.say(self.r(
                    &t.request_registered,
                    &[("assunto", subject), ("protocolo", &protocol)],
                ));
                self.anything_else(st, out);
                Ok(())
            }
            i::CANCELLATION => {
                let protocol = self
                    .open_ticket(st, out, &t.subject_cancellation, text)
                    .await?;
                out.say(self.r(&t.cancellation_registered, &[("protocolo", &protocol)]));
                st.resolved = true;
                self.hand_off(
                    st,
                    out,
                    HandOffReason::Cancellation,
                    team_for(intent),
                    Some(intent.into()),
                    Some(protocol),
                );
                Ok(())
            }
            i::COMPLAINT => {
                let protocol = self
                    .open_ticket(st, out, &t.subject_complaint, text)
                    .await?;
                out.say(self.r(&t.complaint_registered, &[("protocolo", &protocol)]));
                if self.settings.handoff_after_complaint {
                    self.hand_off(
                        st,
                        out,
                        HandOffReason::Complaint,
                        team_for(intent),
                        Some(intent.into()),
                        Some(protocol),
                    );
                } else {
                    self.anything_else(st, out);
                }
                Ok(())
            }
            _ => {
                let name = self.verified_name(st, out).await;
                self.ask_need(st, out, name.as_deref());
                Ok(())
            }
        }
    }

    async fn open_ticket(
        &self,
        st: &mut BotState,
        out: &mut Out<'_, '_>,
        subject: &str,
        description: &str,
    ) -> Result<String, ErpError> {
        let sub = st.subscriber_id.clone().unwrap_or_default();
        let connection_id = self
            .connection_of(st, out)
            .await
            .ok()
            .flatten()
            .map(|c| c.id);
        let ticket = out
            .ctx
            .erp
            .open_ticket(&NewTicket {
                subscriber_id: sub,
                contract_id: st.contract_id.clone(),
                connection_id,
                subject: subject.to_owned(),
                description: if description.trim().is_empty() {
                    subject.to_owned()
                } else {
                    description.to_owned()
                },
                origin: out.ctx.channel.name.clone(),
            })
            .await?;
        let protocol = ticket.protocol.clone().unwrap_or_else(|| ticket.id.clone());
        out.act(BotAction::OpenedTicket {
            ticket_id: ticket.id,
            protocol: ticket.protocol,
            subject: subject.to_owned(),
        });
        Ok(protocol)
    }

    async fn invoices(&self, st: &BotState, out: &Out<'_, '_>) -> Result<Vec<Invoice>, ErpError> {
        let sub = st.subscriber_id.as_deref().unwrap_or_default();
        let all = out.ctx.erp.open_invoices(sub).await?;
        Ok(match &st.contract_id {
            Some(c) => all
                .into_iter()
                .filter(|inv| inv.contract_id.as_ref().is_none_or(|x| x == c))
                .collect(),
            None => all,
        })
    }

    fn status_text(&self, inv: &Invoice) -> &str {
        match inv.status {
            InvoiceStatus::Overdue => &self.texts.invoice_status_overdue,
            _ => &self.texts.invoice_status_open,
        }
    }

    async fn invoice_copy(&self, st: &mut BotState, out: &mut Out<'_, '_>) -> Flow {
        let invoices = self.invoices(st, out).await?;
        if invoices.is_empty() {
            out.say(self.r(&self.texts.no_open_invoices, &[]));
        } else {
            out.say(self.r(&self.texts.invoice_intro, &[]));
            for inv in invoices.iter().take(self.settings.max_invoices) {
                let linha = inv
                    .linha_digitavel
                    .as_deref()
                    .map(util::linha_formatted)
                    .unwrap_or_else(|| "-".into());
                let link = inv.pdf_url.clone().unwrap_or_else(|| "-".into());
                let text = self.r(
                    &self.texts.invoice_item,
                    &[
                        ("descricao", inv.description.as_deref().unwrap_or(&inv.id)),
                        ("vencimento", &util::date_br(inv.due_date)),
                        ("valor", &util::money(inv.value_cents)),
                        ("situacao", self.status_text(inv)),
                        ("linha", &linha),
                        ("link", &link),
                    ],
                );
                let mut content = MessageContent::text(text);
                if let Some(url) = &inv.pdf_url {
                    content.attachments.push(Attachment {
                        kind: "document".into(),
                        file_name: Some(format!("fatura-{}.pdf", inv.id)),
                        mime_type: Some("application/pdf".into()),
                        stored_path: None,
                        url: Some(url.clone()),
                        size: None,
                    });
                }
                out.turn.replies.push(content);
            }
        }
        self.anything_else(st, out);
        Ok(())
    }

    async fn pix(&self, st: &mut BotState, out: &mut Out<'_, '_>) -> Flow {
        let invoices = self.invoices(st, out).await?;
        let Some(inv) = invoices.first() else {
            out.say(self.r(&self.texts.no_open_invoices, &[]));
            self.anything_else(st, out);
            return Ok(());
        };
        match out.ctx.erp.invoice_pix(&inv.id).await {
            Ok(pix) => {
                out.say(self.r(
                    &self.texts.pix_intro,
                    &[
                        ("vencimento", &util::date_br(inv.due_date)),
                        ("valor", &util::money(inv.value_cents)),
                    ],
                ));
                out.say(pix.copia_e_cola);
                self.anything_else(st, out);
                Ok(())
            }
            // No Pix in this ERP: the boleto is the next best thing.
            Err(ErpError::Unsupported(_)) => self.invoice_copy(st, out).await,
            Err(e) => Err(e),
        }
    }

    async fn debts(&self, st: &mut BotState, out: &mut Out<'_, '_>) -> Flow {
        let invoices = self.invoices(st, out).await?;
        if invoices.is_empty() {
            out.say(self.r(&self.texts.no_open_invoices, &[]));
            self.anything_else(st, out);
            return Ok(());
        }
        let total: u64 = invoices.iter().map(|x| x.value_cents).sum();
        let mut text = self.r(
            &self.texts.debt_summary,
            &[
                ("quantidade", &invoices.len().to_string()),
                ("total", &util::money(total)),
            ],
        );
        for inv in &invoices {
            text.push('\n');
            text.push_str(&self.r(
                &self.texts.debt_item,
                &[
                    ("vencimento", &util::date_br(inv.due_date)),
                    ("valor", &util::money(inv.value_cents)),
                    ("situacao", self.status_text(inv)),
                ],
            ));
        }
        out.say(text);
        st.resolved = true;
        let q = self.r(&self.texts.offer_invoice, &[]);
        self.ask_yes_no(st, out, &q, Question::OfferInvoice);
        Ok(())
    }

    /// The connection of the chosen contract (or the only/first one).
    async fn connection_of(
        &self,
        st: &BotState,
        out: &Out<'_, '_>,
    ) -> Result<Option<Connection>, ErpError> {
        let sub = st.subscriber_id.as_deref().unwrap_or_default();
        let all = out.ctx.erp.connections(sub).await?;
        Ok(match &st.contract_id {
            Some(c) => all
                .iter()
                .find(|x| x.contract_id.as_deref() == Some(c))
                .or(all.first())
                .cloned(),
            None => all.first().cloned(),
        })
    }

    async fn payment_notice(&self, st: &mut BotState, out: &mut Out<'_, '_>) -> Flow {
        let invoices = self.invoices(st, out).await?;
        let overdue: Vec<&Invoice> = invoices
            .iter()
            .filter(|x| x.status == InvoiceStatus::Overdue)
            .collect();
        match overdue.first() {
            None => out.say(self.r(&self.texts.payment_ok, &[])),
            Some(inv) => out.say(self.r(
                &self.texts.payment_pending,
                &[
                    ("vencimento", &util::date_br(inv.due_date)),
                    ("valor", &util::money(inv.value_cents)),
                ],
            )),
        }
        let conn = self.connection_of(st, out).await?;
        if conn.as_ref().is_some_and(|c| c.blocked || c.speed_reduced) && !overdue.is_empty() {
            let q = self.r(&self.texts.offer_unlock, &[]);
            st.resolved = true;
            self.ask_yes_no(st, out, &q, Question::OfferUnlock);
        } else {
            self.anything_else(st, out);
        }
        Ok(())
    }

    async fn trust_unlock(&self, st: &mut BotState, out: &mut Out<'_, '_>) -> Flow {
        let t = &self.texts;
        let sub = st.subscriber_id.clone().unwrap_or_default();
        let Some(conn) = self.connection_of(st, out).await? else {
            out.say(self.r(&t.unlock_not_blocked, &[]));
            self.anything_else(st, out);
            return Ok(());
        };
        if !conn.blocked && !conn.speed_reduced {
            out.say(self.r(&t.unlock_not_blocked, &[]));
            self.anything_else(st, out);
            return Ok(());
        }
        match out.ctx.erp.trust_unlock(&sub, &conn.id).await {
            Ok(u) => {
                let until = u.until.map(util::date_br);
                match &until {
                    Some(d) => out.say(self.r(&t.unlock_done, &[("ate", d)])),
                    None => out.say(self.r(&t.unlock_done_no_date, &[])),
                }
                out.act(BotAction::TrustUnlocked {
                    connection_id: conn.id.clone(),
                    until,
                });
                self.anything_else(st, out);
                Ok(())
            }
            Err(ErpError::Refused { reason, .. }) => {
                out.say(self.r(
                    match reason {
                        RefusalReason::AlreadyUsed => &t.unlock_refused_already_used,
                        RefusalReason::TooManyDaysOverdue => &t.unlock_refused_overdue,
                        RefusalReason::NotBlocked => &t.unlock_not_blocked,
                        RefusalReason::Inactive => &t.unlock_refused_inactive,
                        RefusalReason::Other => &t.unlock_refused_other,
                    },
                    &[],
                ));
                st.resolved = true;
                let q = self.r(&t.offer_regularize, &[]);
                self.ask_yes_no(st, out, &q, Question::OfferInvoice);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Outage → block → status → basic steps → ticket.
    async fn connection(&self, st: &mut BotState, out: &mut Out<'_, '_>, slow: bool) -> Flow {
        let t = &self.texts;
        let Some(conn) = self.connection_of(st, out).await? else {
            let q = self.r(&t.basic_steps, &[]);
            self.ask_yes_no(st, out, &q, Question::StepsSolved { slow });
            return Ok(());
        };
        if let Some(o) = out.ctx.erp.connection_outage(&conn.id).await? {
            let forecast = o
                .forecast
                .as_deref()
                .map(util::datetime_text_br)
                .unwrap_or_else(|| t.outage_no_forecast.clone());
            let description = o
                .description
                .clone()
                .unwrap_or_else(|| t.outage_default_description.clone());
            out.say(self.r(
                &t.outage,
                &[("descricao", &description), ("previsao", &forecast)],
            ));
            self.anything_else(st, out);
            return Ok(());
        }
        if conn.blocked || conn.speed_reduced {
            if conn.blocked {
                let reason = conn
                    .block_reason
                    .clone()
                    .unwrap_or_else(|| t.connection_blocked_default_reason.clone());
                out.say(self.r(&t.connection_blocked, &[("motivo", &reason.to_lowercase())]));
            } else {
                out.say(self.r(&t.connection_reduced, &[]));
            }
            let q = self.r(&t.offer_unlock, &[]);
            self.ask_yes_no(st, out, &q, Question::OfferUnlock);
            return Ok(());
        }
        match conn.online {
            Some(true) => out.say(self.r(&t.connection_online, &[])),
            Some(false) => out.say(self.r(&t.connection_offline, &[])),
            None => {}
        }
        let q = self.r(&t.basic_steps, &[]);
        self.ask_yes_no(st, out, &q, Question::StepsSolved { slow });
        Ok(())
    }

    async fn equipment(&self, st: &mut BotState, out: &mut Out<'_, '_>, text: &str) -> Flow {
        let t = &self.texts;
        let conn = self.connection_of(st, out).await?;
        if let Some(c) = &conn
            && let Some(o) = out.ctx.erp.connection_outage(&c.id).await?
        {
            let forecast = o
                .forecast
                .as_deref()
                .map(util::datetime_text_br)
                .unwrap_or_else(|| t.outage_no_forecast.clone());
            let description = o
                .description
                .clone()
                .unwrap_or_else(|| t.outage_default_description.clone());
            out.say(self.r(
                &t.outage,
                &[("descricao", &description), ("previsao", &forecast)],
            ));
            self.anything_else(st, out);
            return Ok(());
        }
        let subject = t.subject_equipment.clone();
        let sub = st.subscriber_id.clone().unwrap_or_default();
        let ticket_protocol = self.open_ticket(st, out, &subject, text).await?;
        let ticket_id = out.turn.actions.iter().rev().find_map(|a| match a {
            BotAction::OpenedTicket { ticket_id, .. } => Some(ticket_id.clone()),
            _ => None,
        });
        match out
            .ctx
            .erp
            .open_service_order(&NewServiceOrder {
                subscriber_id: sub,
                contract_id: st.contract_id.clone(),
                connection_id: conn.map(|c| c.id),
                ticket_id,
                description: if text.trim().is_empty() {
                    subject.clone()
                } else {
                    text.to_owned()
                },
            })
            .await
        {
            Ok(order) => out.act(BotAction::OpenedServiceOrder { order_id: order.id }),
            // The ticket is enough where the ERP has no service orders.
            Err(ErpError::Unsupported(_)) => {}
            Err(e) => return Err(e),
        }
        out.say(self.r(
            &t.equipment_order_opened,
            &[("protocolo", &ticket_protocol)],
        ));
        self.anything_else(st, out);
        Ok(())
    }

    async fn ticket_status(&self, st: &mut BotState, out: &mut Out<'_, '_>) -> Flow {
        let t = &self.texts;
        let sub = st.subscriber_id.clone().unwrap_or_default();
        let tickets = out.ctx.erp.tickets(&sub).await?;
        let orders = match out.ctx.erp.service_orders(&sub).await {
            Ok(o) => o,
            Err(ErpError::Unsupported(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut lines = Vec::new();
        for tk in tickets.iter().filter(|x| x.status != TicketStatus::Closed) {
            let status = match tk.status {
                TicketStatus::Open => &t.status_open,
                _ => &t.status_in_progress,
            };
            lines.push(self.r(
                &t.ticket_item,
                &[
                    ("protocolo", tk.protocol.as_deref().unwrap_or(&tk.id)),
                    ("assunto", tk.subject.as_deref().unwrap_or("-")),
                    ("situacao", status),
                ],
            ));
        }
        for o in orders
            .iter()
            .filter(|x| x.status != ServiceOrderStatus::Closed)
        {
            let status = match (&o.status, &o.scheduled_for) {
                (_, Some(when)) => self.r(
                    &t.order_scheduled,
                    &[("data", &util::datetime_text_br(when))],
                ),
                (ServiceOrderStatus::Scheduled, None) => t.status_scheduled.clone(),
                (ServiceOrderStatus::InProgress, None) => t.status_in_progress.clone(),
                _ => t.status_open.clone(),
            };
            lines.push(self.r(
                &t.order_item,
                &[
                    ("codigo", &o.id),
                    ("assunto", o.description.as_deref().unwrap_or("-")),
                    ("situacao", &status),
                ],
            ));
        }
        if lines.is_empty() {
            out.say(self.r(&t.no_tickets, &[]));
        } else {
            out.say(format!(
                "{}\n{}",
                self.r(&t.tickets_intro, &[]),
                lines.join("\n")
            ));
        }
        self.anything_else(st, out);
        Ok(())
    }

    async fn new_service(&self, st: &mut BotState, out: &mut Out<'_, '_>, text: &str) -> Flow {
        let lead = out
            .ctx
            .erp
            .register_lead(&NewLead {
                name: String::new(),
                phone: out.ctx.contact.phone.clone(),
                notes: Some(text.to_owned()),
                origin: out.ctx.channel.name.clone(),
                ..NewLead::default()
            })
            .await;
        match lead {
            Ok(l) => {
                out.act(BotAction::RegisteredLead { lead_id: l.id });
                out.say(self.r(&self.texts.lead_registered, &[]));
                self.anything_else(st, out);
                Ok(())
            }
            Err(ErpError::Unsupported(_)) => {
                self.hand_off(
                    st,
                    out,
                    HandOffReason::NeedsPerson,
                    Some("comercial".into()),
                    Some(i::NEW_SERVICE.into()),
                    None,
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

fn pending_intent(st: &BotState) -> Option<String> {
    st.pending.as_ref().map(|p| p.intent.clone())
}

/// How the bot calls the subscriber: a person by the first name, a company by its name.
fn display_name(s: &Subscriber) -> String {
    let company = s.document.as_deref().is_some_and(|d| d.len() == 14);
    if company {
        s.name.clone()
    } else {
        s.name
            .split_whitespace()
            .next()
            .unwrap_or(&s.name)
            .to_owned()
    }
}

/// The item named by words of its label ("praia"): words that appear in exactly one label,
/// all pointing to the same item.
fn pick_by_word(items: &[MenuItem], text: &str) -> Option<String> {
    let n = normalize(text);
    let labels: Vec<String> = items.iter().map(|m| normalize(&m.label)).collect();
    let mut found: Option<usize> = None;
    for w in n.split(' ').filter(|w| w.len() >= 4) {
        let hits: Vec<usize> = (0..labels.len())
            .filter(|k| util::has_phrase(&labels[*k], w))
            .collect();
        if let [k] = hits.as_slice() {
            match found {
                Some(f) if f != *k => return None,
                _ => found = Some(*k),
            }
        }
    }
    found.map(|k| items[k].id.clone())
}

/// The team a flow hands off to.
fn team_for(intent: &str) -> Option<String> {
    match intent {
        i::CANCELLATION => Some("cancelamento".into()),
        i::COMPLAINT => Some("ouvidoria".into()),
        _ => None,
    }
}

/// The team a subscriber named ("quero falar com o financeiro").
fn team_hint(text: &str) -> Option<String> {
    let n = normalize(text);
    let has = |words: &[&str]| words.iter().any(|w| util::has_phrase(&n, w));
    if has(&["financeiro", "boleto", "fatura", "cobranca", "pagamento"]) {
        Some("financeiro".into())
    } else if has(&["suporte", "tecnico", "internet", "conexao", "sinal"]) {
        Some("suporte".into())
    } else if has(&["comercial", "vendas", "planos", "contratar"]) {
        Some("comercial".into())
    } else if has(&["cancelar", "cancelamento"]) {
        Some("cancelamento".into())
    } else {
        None
    }
}

fn expected_available(s: &Subscriber, k: ConfirmationKind, by_phone: bool) -> bool {
    match k {
        ConfirmationKind::HouseNumber => s
            .address
            .number
            .as_deref()
            .is_some_and(|n| !util::digits(n).is_empty()),
        ConfirmationKind::BirthDate => s.birth_date.is_some(),
        ConfirmationKind::Neighbourhood => s
            .address
            .neighbourhood
            .as_deref()
            .is_some_and(|n| !normalize(n).is_empty()),
        ConfirmationKind::PhoneLastDigits => {
            !by_phone && s.phones.iter().any(|p| util::digits(p).len() >= 8)
        }
        ConfirmationKind::CepPrefix => s
            .address
            .cep
            .as_deref()
            .is_some_and(|c| util::digits(c).len() == 8),
    }
}

fn neighbourhood_key(s: &str) -> String {
    normalize(s)
        .split(' ')
        .filter(|w| {
            !matches!(
                *w,
                "bairro" | "o" | "a" | "no" | "na" | "de" | "do" | "da" | "e"
            )
        })
        .map(|w| match w {
            "jd" | "jrd" => "jardim",
            "vl" => "vila",
            "pq" | "prq" => "parque",
            "res" => "residencial",
            "cj" => "conjunto",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Tolerant comparison of a confirmation answer (accents, case, spacing, formats).
fn answer_matches(s: &Subscriber, k: ConfirmationKind, answer: &str) -> bool {
    match k {
        ConfirmationKind::HouseNumber => {
            let want = s
                .address
                .number
                .as_deref()
                .map(util::digits)
                .unwrap_or_default();
            !want.is_empty() && util::digits(answer) == want
        }
        ConfirmationKind::BirthDate => {
            s.birth_date.is_some() && util::read_date(answer) == s.birth_date
        }
        ConfirmationKind::Neighbourhood => {
            let want = s
                .address
                .neighbourhood
                .as_deref()
                .map(neighbourhood_key)
                .unwrap_or_default();
            !want.is_empty() && neighbourhood_key(answer) == want
        }
        ConfirmationKind::PhoneLastDigits => {
            let got = util::digits(answer);
            got.len() == 4 && s.phones.iter().any(|p| util::digits(p).ends_with(&got))
        }
        ConfirmationKind::CepPrefix => {
            let want = s
                .address
                .cep
                .as_deref()
                .map(util::digits)
                .unwrap_or_default();
            let got = util::digits(answer);
            want.len() == 8 && (got == want[..5] || got == want)
        }
    }
}
