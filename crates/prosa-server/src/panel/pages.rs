//! The `/panel` and `/supervision` pages: server-rendered shells that `panel.js` fills over the
//! REST API and keeps live over the one WebSocket. Every value shown is data (escaped by maud
//! here, inserted as text by the script).

use crate::auth::{MaybeUser, Principal};
use crate::pages::{page, require_person};
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use prosa_domain::model::Role;

fn shell_data(state: &AppState, who: &Principal) -> (String, &'static str, String) {
    (
        who.user_id().map(|u| u.0.to_string()).unwrap_or_default(),
        who.role().as_str(),
        state.config.time_zone.clone(),
    )
}

fn dialogs() -> Markup {
    html! {
        dialog id="dlg-transfer" aria-labelledby="dlg-transfer-title" {
            form method="dialog" class="pn-dialog" {
                h2 id="dlg-transfer-title" { "Transferir conversa" }
                label for="tr-target" { "Para" }
                select id="tr-target" required {}
                label for="tr-note" { "Observação (nota privada)" }
                textarea id="tr-note" rows="3" maxlength="2000" {}
                p class="field-error" id="tr-error" role="alert" {}
                div class="pn-dialog-actions" {
                    button type="button" class="secondary" data-close { "Cancelar" }
                    button type="submit" value="ok" { "Transferir" }
                }
            }
        }
        dialog id="dlg-return" aria-labelledby="dlg-return-title" {
            form method="dialog" class="pn-dialog" {
                h2 id="dlg-return-title" { "Devolver à fila" }
                label for="rt-note" { "Observação (nota privada, opcional)" }
                textarea id="rt-note" rows="3" maxlength="2000" {}
                p class="field-error" id="rt-error" role="alert" {}
                div class="pn-dialog-actions" {
                    button type="button" class="secondary" data-close { "Cancelar" }
                    button type="submit" value="ok" { "Devolver" }
                }
            }
        }
        dialog id="dlg-earlier" aria-labelledby="dlg-earlier-title" class="pn-earlier" {
            div class="pn-dialog" {
                h2 id="dlg-earlier-title" { "Conversa anterior" }
                ol id="er-messages" class="pn-messages" {}
                div class="pn-dialog-actions" {
                    button type="button" class="secondary" data-close { "Fechar" }
                }
            }
        }
        dialog id="dlg-close" aria-labelledby="dlg-close-title" {
            form method="dialog" class="pn-dialog" {
                h2 id="dlg-close-title" { "Encerrar atendimento" }
                label for="cl-category" { "Categoria (obrigatória)" }
                select id="cl-category" required { option value="" { "Selecione…" } }
                label for="cl-note" { "Observação (nota privada, opcional)" }
                textarea id="cl-note" rows="3" maxlength="2000" {}
                p class="muted" { "O cliente receberá o pedido de avaliação (nota de 0 a 10)." }
                p class="field-error" id="cl-error" role="alert" {}
                div class="pn-dialog-actions" {
                    button type="button" class="secondary" data-close { "Cancelar" }
                    button type="submit" value="ok" { "Encerrar" }
                }
            }
        }
    }
}

pub async fn panel_page(State(state): State<AppState>, MaybeUser(who): MaybeUser) -> Response {
    let who = match require_person(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (me, role, tz) = shell_data(&state, &who);
    let body = html! {
        link rel="stylesheet" href=(prosa_web::asset_url("panel.css"));
        div id="panel" class="pn" data-me=(me) data-role=(role) data-tz=(tz) data-view="lists" {
            nav class="pn-tabs" aria-label="Seções do atendimento" {
                button type="button" data-view="lists" aria-pressed="true" { "Fila " span class="badge" id="pn-tab-badge" hidden {} }
                button type="button" data-view="chat" aria-pressed="false" { "Conversa" }
                button type="button" data-view="side" aria-pressed="false" { "Cliente" }
            }
            section class="pn-lists" aria-labelledby="pn-queue-title" {
                div class="pn-presence" {
                    label for="pn-presence" class="sr-only" { "Minha situação" }
                    select id="pn-presence" {
                        option value="online" { "Disponível" }
                        option value="paused" { "Em pausa" }
                        option value="offline" { "Ausente" }
                    }
                    input id="pn-pause-reason" type="text" maxlength="100" placeholder="Motivo da pausa" aria-label="Motivo da pausa" hidden;
                    button type="button" id="pn-mute" class="secondary pn-mute" aria-pressed="false" title="Som dos avisos de novas mensagens e conversas" { "Som: ligado" }
                }
                button type="button" id="pn-next" class="pn-next" { "Pegar próximo" }
                p id="pn-status" class="pn-status" role="status" aria-live="polite" {}
                p id="pn-hours" class="queue-hours" role="status" aria-live="polite" hidden {}
                h2 id="pn-queue-title" { "Fila de espera " span class="pn-count" id="pn-queue-count" { "0" } }
                ul id="pn-queue" class="pn-list" aria-live="polite" {}
                h2 { "Minhas conversas " span class="pn-count" id="pn-mine-count" { "0" } }
                ul id="pn-mine" class="pn-list" {}
                @if who.role() >= Role::Supervisor {
                    h2 { "Outras em atendimento" }
                    ul id="pn-others" class="pn-list" {}
                }
            }
            section class="pn-chat" aria-labelledby="pn-chat-title" {
                header class="pn-chat-head" {
                    div {
                        h2 id="pn-chat-title" { "Nenhuma conversa aberta" }
                        p id="pn-chat-sub" class="muted" {}
                    }
                    div class="pn-actions" id="pn-actions" hidden {
                        button type="button" id="pn-take" { "Assumir" }
                        button type="button" class="secondary" id="pn-transfer" { "Transferir" }
                        button type="button" class="secondary" id="pn-return" { "Devolver à fila" }
                        button type="button" class="danger" id="pn-close" { "Encerrar" }
                    }
                }
                div id="pn-scroll" class="pn-scroll" tabindex="0" aria-label="Mensagens" {
                    button type="button" id="pn-older" class="secondary pn-older" hidden { "Carregar mensagens anteriores" }
                    ol id="pn-messages" class="pn-messages" aria-live="polite" aria-relevant="additions" {}
                    p id="pn-empty" class="muted pn-empty" { "Escolha uma conversa na fila ou clique em “Pegar próximo”." }
                }
                form id="pn-composer" class="pn-composer" hidden {
                    p id="pn-readonly" class="muted" hidden { "Somente leitura: assuma a conversa para responder." }
                    label for="pn-text" class="sr-only" { "Mensagem" }
                    textarea id="pn-text" rows="2" maxlength="4096" placeholder="Escreva uma mensagem — Enter envia, Shift+Enter quebra a linha, / abre as respostas prontas" aria-autocomplete="list" aria-controls="pn-canned" aria-expanded="false" aria-describedby="pn-canned-hint" {}
                    p id="pn-canned-hint" class="sr-only" { "Digite / e o atalho para escolher uma resposta pronta; setas para navegar, Enter para inserir, Esc para fechar." }
                    ul id="pn-canned" class="pn-canned" role="listbox" aria-label="Respostas prontas" hidden {}
                    div class="pn-composer-bar" {
                        label class="pn-check" {
                            input type="checkbox" id="pn-private";
                            " Nota privada (só a equipe vê)"
                        }
                        span id="pn-send-error" class="field-error" role="alert" {}
                        button type="submit" id="pn-send" { "Enviar" }
                    }
                }
            }
            aside class="pn-side" aria-labelledby="pn-side-title" {
                h2 id="pn-side-title" { "Cliente" }
                div id="pn-contact" { p class="muted" { "—" } }
                h2 { "Dados do ERP" }
                div id="pn-erp" aria-live="polite" { p class="muted" { "—" } }
                h2 { "Conversas anteriores" }
                ul id="pn-history" class="pn-history" { li class="muted" { "—" } }
            }
        }
        (dialogs())
    };
    page(&who, "Atendimento", "panel", body, &["panel.js"])
}

pub async fn supervision_page(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
) -> Response {
    let who = match require_person(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if who.role() < Role::Supervisor {
        return Redirect::to("/panel").into_response();
    }
    let (me, role, tz) = shell_data(&state, &who);
    let body = html! {
        link rel="stylesheet" href=(prosa_web::asset_url("panel.css"));
        div id="supervision" class="sv" data-me=(me) data-role=(role) data-tz=(tz) {
            h1 { "Supervisão" }
            form class="sv-filters" id="sv-filters" aria-label="Filtros" {
                div { label for="sv-status" { "Situação" }
                    select id="sv-status" { option value="" { "Todas" } option value="bot" { "No bot" } option value="waiting" { "Aguardando" } option value="open" { "Em atendimento" } } }
                div { label for="sv-inbox" { "Canal" } select id="sv-inbox" { option value="" { "Todos" } } }
                div { label for="sv-team" { "Setor" } select id="sv-team" { option value="" { "Todos" } } }
                div { label for="sv-operator" { "Atendente" } select id="sv-operator" { option value="" { "Todos" } } }
            }
            p id="pn-status" class="pn-status" role="status" aria-live="polite" {}
            section aria-labelledby="sv-conv-title" {
                h2 id="sv-conv-title" { "Conversas abertas " span class="pn-count" id="sv-count" { "0" } }
                div class="sv-table-wrap" {
                    table {
                        thead { tr { th scope="col" { "Cliente" } th scope="col" { "Canal" } th scope="col" { "Situação" } th scope="col" { "Com" } th scope="col" { "Há" } th scope="col" { "Ações" } } }
                        tbody id="sv-rows" {}
                    }
                }
            }
            section aria-labelledby="sv-ops-title" {
                h2 id="sv-ops-title" { "Atendentes" }
                div class="sv-table-wrap" {
                    table {
                        thead { tr { th scope="col" { "Nome" } th scope="col" { "Situação" } th scope="col" { "Conversas" } } }
                        tbody id="sv-ops" {}
                    }
                }
            }
        }
    };
    page(&who, "Supervisão", "supervision", body, &["panel.js"])
}
