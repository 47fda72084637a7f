//! Every sentence the bot says. pt-BR defaults; the administrator may override any of them
//! (a JSON object with some of the keys; missing keys keep the default).
//!
//! Placeholders are `{name}` and are filled once, verbatim ([`crate::util::render`]): subscriber
//! and ERP data are data, never templates. Placeholders used: `{empresa}`, `{nome}`,
//! `{documento}` (masked), `{tentativa}`, `{maximo}`, `{abertura}`, `{protocolo}`, `{assunto}`,
//! `{descricao}`, `{vencimento}`, `{valor}`, `{situacao}`, `{linha}`, `{link}`, `{quantidade}`,
//! `{total}`, `{ate}`, `{motivo}`, `{previsao}`, `{codigo}`, `{data}`, `{posicao}`.

use serde::{Deserialize, Serialize};

macro_rules! texts {
    ($($name:ident = $default:expr;)*) => {
        /// The bot's texts (see the module docs).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct BotTexts {
            $(pub $name: String,)*
        }

        impl Default for BotTexts {
            fn default() -> BotTexts {
                BotTexts { $($name: $default.to_owned(),)* }
            }
        }

        impl BotTexts {
            /// The keys, for the administration page.
            pub const KEYS: &[&str] = &[$(stringify!($name)),*];

            /// A text by key (for the administration page).
            pub fn get(&self, key: &str) -> Option<&str> {
                match key {
                    $(stringify!($name) => Some(&self.$name),)*
                    _ => None,
                }
            }

            /// Replaces a text by key; false for an unknown key.
            pub fn set(&mut self, key: &str, value: String) -> bool {
                match key {
                    $(stringify!($name) => { self.$name = value; true })*
                    _ => false,
                }
            }
        }
    };
}

texts! {
    greeting = "Olá! Sou o assistente virtual da {empresa}. 😊";
    ask_need = "Como posso ajudar? Escreva do seu jeito ou escolha uma opção:";
    ask_need_named = "{nome}, como posso ajudar? Escreva do seu jeito ou escolha uma opção:";
    ask_document = "Para continuar, me informe o CPF ou CNPJ do titular do contrato, por favor.";
    document_wrong_length = "Esse número não parece um CPF (11 dígitos) nem um CNPJ (14 caracteres). Pode conferir e digitar de novo?";
    document_check_digits = "Os dígitos verificadores desse CPF/CNPJ não conferem: algum número deve ter sido digitado errado. Pode conferir e enviar de novo?";
    document_repeated_digits = "Esse número não é um CPF/CNPJ válido (todos os dígitos são iguais). Pode conferir?";
    document_invalid_character = "O CPF/CNPJ deve ter só números (ou letras e números, no novo CNPJ). Pode digitar de novo?";
    document_not_found = "Não encontrei cadastro com o documento {documento}. Confira o número, por favor. Se ainda não é cliente, escreva \"quero contratar\".";
    choose_subscriber = "Encontrei mais de um cadastro com esse documento. Qual deles?";
    subscriber_label = "Cadastro {codigo} ({nome})";
    choose_contract = "Você tem mais de um contrato. Sobre qual deles estamos falando?";
    invalid_choice = "Não entendi a opção. Escolha um dos itens da lista, por favor:";
    confirm_intro = "Antes de continuar, preciso confirmar sua identidade.";
    ask_house_number = "Qual é o número do endereço de instalação (só o número do imóvel)?";
    ask_birth_date = "Qual é a data de nascimento do titular (dd/mm/aaaa)?";
    ask_neighbourhood = "Qual é o bairro do endereço de instalação?";
    ask_phone_last_digits = "Quais são os 4 últimos dígitos do telefone cadastrado?";
    ask_cep_prefix = "Quais são os 5 primeiros dígitos do CEP do endereço cadastrado?";
    confirmation_wrong = "Os dados informados não conferem com o cadastro. Pode tentar de novo? (tentativa {tentativa} de {maximo})";
    confirmation_locked = "Por segurança, não posso continuar a identificação por aqui.";
    confirmed = "Obrigado, {nome}! Identidade confirmada. ✅";
    restart_identification = "Você informou outro documento ou contrato. Por segurança, vou refazer a identificação.";
    not_understood = "Desculpe, não entendi. Escolha uma das opções ou escreva de outro jeito:";
    out_of_scope = "Por aqui eu ajudo com a sua internet: faturas, conexão, desbloqueio e chamados. Escolha uma opção:";
    media_unsupported = "Ainda não consigo ouvir áudios nem ver imagens ou arquivos. 😕 Pode escrever sua mensagem ou escolher uma opção?";
    anything_else = "Posso ajudar em algo mais?";
    goodbye = "Obrigado pelo contato! Atendimento encerrado. 👋";
    inactivity_warning = "Você ainda está aí? Se não receber resposta em alguns minutos, vou encerrar este atendimento.";
    queue_position = "Você está na posição {posicao} da fila de atendimento. Um atendente vai falar com você em breve.";
    timeout = "Como não recebi resposta, vou encerrar este atendimento. Se precisar, é só chamar de novo!";
    handoff = "Vou transferir você para um atendente. Aguarde um momento, por favor.";
    handoff_out_of_hours = "Nosso atendimento humano está fora do horário agora. Sua conversa ficou na fila e um atendente responde {abertura}.";
    handoff_out_of_hours_unknown = "Nosso atendimento humano está fora do horário agora. Sua conversa ficou na fila e um atendente responde assim que possível.";
    erp_unavailable = "Estamos com instabilidade no sistema e não consigo consultar seus dados agora.";
    not_supported = "Isso eu ainda não consigo fazer por aqui.";
    no_open_invoices = "Não encontrei faturas em aberto. Está tudo em dia! ✅";
    invoice_intro = "Aqui está a segunda via:";
    invoice_item = "Fatura {descricao}: vencimento {vencimento}, {valor} ({situacao})\nLinha digitável: {linha}\nPDF: {link}";
    invoice_status_open = "em aberto";
    invoice_status_overdue = "vencida";
    pix_intro = "Pix copia e cola da fatura com vencimento em {vencimento} ({valor}). Copie o código da próxima mensagem e cole no app do seu banco:";
    debt_summary = "Você tem {quantidade} fatura(s) em aberto, total de {total}:";
    debt_item = "• vencimento {vencimento}: {valor} ({situacao})";
    offer_invoice = "Quer que eu envie a segunda via?";
    payment_pending = "Ainda não consta a baixa da fatura com vencimento em {vencimento} ({valor}). Pagamentos por boleto podem levar até 3 dias úteis para compensar.";
    payment_ok = "Não há faturas vencidas em aberto: seus pagamentos estão em dia. ✅";
    offer_unlock = "Posso fazer o desbloqueio de confiança da sua conexão por alguns dias, enquanto o pagamento compensa. Quer?";
    unlock_done = "Pronto! Fiz o desbloqueio de confiança da sua conexão até {ate}. Desligue o roteador da tomada por 30 segundos e ligue de novo.";
    unlock_done_no_date = "Pronto! Fiz o desbloqueio de confiança da sua conexão. Desligue o roteador da tomada por 30 segundos e ligue de novo.";
    unlock_not_blocked = "Sua conexão não está bloqueada, então não é preciso desbloqueio.";
    unlock_refused_already_used = "O desbloqueio de confiança já foi usado neste período, por isso não consigo liberar de novo agora.";
    unlock_refused_overdue = "Não é possível fazer o desbloqueio de confiança porque há fatura vencida há mais tempo do que o permitido.";
    unlock_refused_inactive = "Não é possível fazer o desbloqueio de confiança porque o contrato não está ativo.";
    unlock_refused_other = "O sistema não permitiu o desbloqueio de confiança agora.";
    offer_regularize = "Para regularizar, posso enviar a segunda via da fatura. Quer?";
    outage = "Identificamos uma falha na sua região: {descricao}. Previsão de normalização: {previsao}. Nossa equipe já está trabalhando nisso; não é preciso abrir chamado.";
    outage_no_forecast = "sem previsão no momento";
    outage_default_description = "manutenção na rede";
    connection_blocked = "Sua conexão está bloqueada ({motivo}).";
    connection_blocked_default_reason = "pendência financeira";
    connection_reduced = "Sua conexão está com velocidade reduzida por pendência financeira.";
    connection_online = "Verifiquei que sua conexão está online no nosso sistema.";
    connection_offline = "Verifiquei que sua conexão aparece desconectada no nosso sistema.";
    basic_steps = "Vamos tentar o básico:\n1. Desligue o roteador da tomada, aguarde 1 minuto e ligue de novo.\n2. Confira se os cabos estão bem encaixados.\n3. Se alguma luz estiver vermelha (LOS/PON), me avise.\nDepois disso, resolveu?";
    steps_resolved = "Que bom que resolveu! 😊";
    technical_ticket_opened = "Abri um chamado técnico para você. Protocolo: {protocolo}. Nossa equipe vai analisar e entrar em contato.";
    equipment_order_opened = "Abri o chamado {protocolo} e uma ordem de serviço para a equipe técnica verificar o equipamento. Vamos entrar em contato para agendar a visita.";
    wifi_instructions = "Para trocar o nome ou a senha do Wi-Fi, acesse o aplicativo ou a página do roteador com o usuário e a senha da etiqueta dele. Quer que nossa equipe faça a troca para você?";
    tickets_intro = "Seus chamados e visitas em aberto:";
    ticket_item = "• Protocolo {protocolo}, {assunto}: {situacao}";
    order_item = "• Ordem de serviço {codigo}, {assunto}: {situacao}";
    order_scheduled = "visita agendada para {data}";
    status_open = "aberto";
    status_in_progress = "em andamento";
    status_scheduled = "agendado";
    no_tickets = "Não encontrei chamados ou visitas em aberto.";
    request_registered = "Registrei sua solicitação de {assunto}. Protocolo: {protocolo}. Nossa equipe vai entrar em contato em breve.";
    cancellation_registered = "Registrei seu pedido de cancelamento. Protocolo: {protocolo}.";
    complaint_registered = "Registrei sua reclamação. Protocolo: {protocolo}.";
    lead_registered = "Que bom que quer ser nosso cliente! Registrei seu interesse e nossa equipe comercial vai entrar em contato.";
    subject_address_change = "mudança de endereço";
    subject_plan_change = "mudança de plano";
    subject_account_change = "alteração cadastral";
    subject_cancellation = "cancelamento";
    subject_complaint = "reclamação";
    subject_no_connection = "sem conexão";
    subject_slow_connection = "internet lenta";
    subject_equipment = "problema no equipamento";
    subject_wifi = "troca de nome/senha do Wi-Fi";
    option_invoice = "2ª via e Pix";
    option_connection = "Problema na internet";
    option_unlock = "Desbloqueio de confiança";
    option_tickets = "Meus chamados";
    option_cancellation = "Cancelamento";
    option_complaint = "Reclamação";
    option_human = "Falar com atendente";
    option_yes = "Sim";
    option_no = "Não";
}

/// The placeholders (`{nome}`) a text uses, in order, without repeats.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end)
                if end > 0
                    && after[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                let name = after[..end].to_owned();
                if !out.contains(&name) {
                    out.push(name);
                }
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

/// Longest text an administrator may set.
pub const MAX_TEXT_CHARS: usize = 2000;

impl BotTexts {
    /// The placeholders a text may use: those of its default, and `{empresa}` everywhere.
    pub fn allowed_placeholders(key: &str) -> Option<Vec<String>> {
        let default = BotTexts::default();
        let mut allowed = placeholders(default.get(key)?);
        if !allowed.iter().any(|p| p == "empresa") {
            allowed.push("empresa".into());
        }
        Some(allowed)
    }

    /// Checks an administrator's text for a key; the error is pt-BR, for the field.
    pub fn check(key: &str, value: &str) -> Result<(), String> {
        let Some(allowed) = BotTexts::allowed_placeholders(key) else {
            return Err(format!("texto desconhecido: {key}"));
        };
        if value.trim().is_empty() {
            return Err("o texto não pode ficar vazio (use \"restaurar padrão\")".into());
        }
        if value.chars().count() > MAX_TEXT_CHARS {
            return Err(format!(
                "texto muito longo (máximo {MAX_TEXT_CHARS} caracteres)"
            ));
        }
        let unknown: Vec<String> = placeholders(value)
            .into_iter()
            .filter(|p| !allowed.contains(p))
            .collect();
        if !unknown.is_empty() {
            let list = |v: &[String]| {
                v.iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(format!(
                "marcador desconhecido: {}. Neste texto você pode usar: {}",
                list(&unknown),
                list(&allowed)
            ));
        }
        Ok(())
    }

    /// The defaults with the administrator's overrides (a JSON object of key → text) applied;
    /// unknown keys and texts that no longer pass [`BotTexts::check`] keep the default.
    pub fn with_overrides(overrides: &serde_json::Value) -> BotTexts {
        let mut t = BotTexts::default();
        if let Some(map) = overrides.as_object() {
            for (k, v) in map {
                if let Some(v) = v.as_str()
                    && BotTexts::check(k, v).is_ok()
                {
                    t.set(k, v.to_owned());
                }
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_overrides_keep_defaults() {
        let t: BotTexts = serde_json::from_str(r#"{"goodbye": "Tchau!"}"#).unwrap();
        assert_eq!(t.goodbye, "Tchau!");
        assert_eq!(t.handoff, BotTexts::default().handoff);
        assert_eq!(t.get("goodbye"), Some("Tchau!"));
        assert!(BotTexts::KEYS.len() > 80);
    }

    #[test]
    fn placeholders_are_checked_against_the_default() {
        assert_eq!(
            placeholders("Oi {nome}, {nome} {x y} {} {protocolo"),
            vec!["nome"]
        );
        assert!(BotTexts::check("confirmed", "Valeu, {nome}! {empresa}").is_ok());
        let e = BotTexts::check("confirmed", "Valeu, {cliente}!").unwrap_err();
        assert!(e.contains("{cliente}") && e.contains("{nome}"), "{e}");
        assert!(BotTexts::check("goodbye", "  ").is_err());
        assert!(BotTexts::check("nope", "x").is_err());
        let t = BotTexts::with_overrides(
            &serde_json::json!({"goodbye": "Até!", "confirmed": "{cliente}", "nope": "x"}),
        );
        assert_eq!(t.goodbye, "Até!");
        assert_eq!(t.confirmed, BotTexts::default().confirmed);
        // Every default passes its own check.
        let d = BotTexts::default();
        for k in BotTexts::KEYS {
            assert!(BotTexts::check(k, d.get(k).unwrap()).is_ok(), "{k}");
        }
    }
}
