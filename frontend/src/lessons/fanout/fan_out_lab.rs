//! "Fan out to a real group": pick a size up to 1,024, start a crowd of real simulated
//! members on the server, send, and watch each member's cell light up from the server's
//! per-recipient traces: delivered, read a few seconds later, or held while the member
//! is offline. A size past the cap is said aloud, not silently lowered.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use bluetick_shared::frames::{DeviceId, GroupId, MAX_GROUP_MEMBERS, MessageId, Recipient, TraceStage};
use bluetick_shared::lab::{MessageCopies, Pace};
use gloo_timers::callback::Interval;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;

use crate::components::guide::guide_moments;
use crate::components::lab_reset::LabReset;
use crate::components::pace_control::PaceControl;
use crate::components::replay_control::ReplayControl;
use crate::lessons::fanout::fan_out_figures::FanOutFigures;
use crate::lessons::fanout::member_grid::{GridCounts, GridModel, MemberGrid, Reach};
use crate::lessons::fanout::reading_crowd::{READ_DELAY_MS, start_reading_crowd};
use crate::live::lab_devices::LabDevices;

/// What the lab says before a group is started.
const NO_GROUP: &str = "No group yet: pick a size and start one.";

/// Offline members come back after this long.
const BACK_AFTER_MS: u64 = 8_000;

/// A running group: its id, crowd, and which grid cell each device is.
#[derive(Clone)]
struct RunningGroup {
    group: GroupId,
    crowd: uuid::Uuid,
    cells: Rc<HashMap<DeviceId, usize>>,
}

#[component]
pub fn FanOutLab(devices: LabDevices) -> impl IntoView {
    let size = RwSignal::new(MAX_GROUP_MEMBERS);
    let offline = RwSignal::new(0usize);
    let status = RwSignal::new(NO_GROUP.to_string());
    let running = StoredValue::new_local(None::<RunningGroup>);
    let ready = RwSignal::new(false);
    let model = Rc::new(RefCell::new(GridModel::default()));
    let counts = RwSignal::new(GridCounts::default());
    let current = RwSignal::new(None::<MessageId>);
    let copies = RwSignal::new(None::<MessageCopies>);
    // When the current message was sent, and its latest delivery (µs since epoch). Kept
    // out of signals: deliveries come a thousand at a time; the grid's counts, refreshed
    // once a frame, are what re-renders the figures.
    let sent_at_us = Rc::new(std::cell::Cell::new(0i64));
    let last_ack_us = Rc::new(std::cell::Cell::new(0i64));
    let refusal = RwSignal::new(None::<String>);
    // What the size and offline fields did to a request past their limits, in words.
    let capped = RwSignal::new(None::<String>);

    // Replaying: the recorded member step shown (`None`: live).
    let replay = RwSignal::new(None::<usize>);
    let grid = StoredValue::new_local(model.clone());
    Effect::new(move || {
        let k = replay.get();
        grid.with_value(|m| m.borrow_mut().replay(k));
    });
    // Per-member traces of the current message light the cells.
    {
        let (model, last_ack_us) = (model.clone(), last_ack_us.clone());
        devices.alice.on_member_trace(move |(id, stage, device, at_us)| {
            if current.get_untracked() != Some(id) {
                return;
            }
            let Some(cells) = running.with_value(|r| r.as_ref().map(|r| r.cells.clone())) else { return };
            let Some(&index) = device.and_then(|d| cells.get(&d)) else { return };
            let reach = match stage {
                TraceStage::Queued => Reach::Queued,
                TraceStage::Acked => Reach::Delivered,
                TraceStage::Read => Reach::Read,
                _ => return,
            };
            model.borrow_mut().advance(index, reach, at_us);
            if stage == TraceStage::Acked {
                last_ack_us.set(last_ack_us.get().max(at_us));
            }
        });
    }
    // Who is online, from the crowd's own report.
    {
        let (model, lab) = (model.clone(), devices.lab.clone());
        let busy = Rc::new(std::cell::Cell::new(false));
        Interval::new(1_500, move || {
            let Some(crowd) = running.with_value(|r| r.as_ref().map(|r| r.crowd)) else { return };
            if busy.replace(true) {
                return;
            }
            let (model, lab, busy) = (model.clone(), lab.clone(), busy.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(mut online) = lab.crowd_online(crowd).await {
                    online.push(true); // the sender, Alice, in the last cell
                    model.borrow_mut().set_online(online);
                }
                busy.set(false);
            });
        })
        .forget();
    }

    let start = {
        let (model, lab, alice) = (model.clone(), devices.lab.clone(), devices.alice.clone());
        move |_| {
            let (model, lab, alice) = (model.clone(), lab.clone(), alice.clone());
            let (members, offline_at_start) = (size.get_untracked(), offline.get_untracked());
            ready.set(false);
            refusal.set(None);
            current.set(None);
            copies.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(old) = running.get_value() {
                    status.set("Stopping the previous group's members…".into());
                    let _ = lab.stop_crowd(old.crowd).await;
                    running.set_value(None);
                }
                status.set(format!("Registering {} simulated members and connecting them…", members - 1));
                let group = match lab.create_group(&format!("Fan-out of {members}")).await {
                    Ok(group) => group.id,
                    Err(e) => return status.set(format!("Could not create the group: {e}")),
                };
                let crowd = match start_reading_crowd(&lab, group, members - 1, offline_at_start, BACK_AFTER_MS).await {
                    Ok(crowd) => crowd,
                    Err(e) => return status.set(format!("The server refused the crowd: {e}")),
                };
                let mut cells: HashMap<DeviceId, usize> =
                    crowd.devices.iter().enumerate().map(|(i, d)| (*d, i)).collect();
                cells.insert(alice.device_id(), crowd.devices.len());
                {
                    let mut model = model.borrow_mut();
                    model.reset(members, Some(crowd.devices.len()));
                    let mut online = vec![true; members];
                    online.iter_mut().take(offline_at_start).for_each(|o| *o = false);
                    model.set_online(online);
                }
                alice.observe(Recipient::Group(group));
                running.set_value(Some(RunningGroup { group, crowd: crowd.crowd_id, cells: Rc::new(cells) }));
                // Give the members a moment to connect before the student sends.
                TimeoutFuture::new(500).await;
                status.set(format!(
                    "Group ready: Alice and {} simulated members, each a real WebSocket client that the server runs \
                     itself (by default over an in-memory pipe, not a network socket){}. Each member reads \
                     a message {} to {} s after it arrives, so a cell shows delivered before it shows read.",
                    members - 1,
                    if offline_at_start > 0 {
                        format!("; {offline_at_start} start offline and come back after {} s", BACK_AFTER_MS / 1000)
                    } else {
                        String::new()
                    },
                    READ_DELAY_MS.0 / 1000,
                    READ_DELAY_MS.1 / 1000,
                ));
                ready.set(true);
            });
        }
    };

    let send = {
        let (model, lab, alice) = (model.clone(), devices.lab.clone(), devices.alice.clone());
        let (sent_at_us, last_ack_us) = (sent_at_us.clone(), last_ack_us.clone());
        move |_| {
            let Some(group) = running.with_value(|r| r.as_ref().map(|r| r.group)) else { return };
            model.borrow_mut().clear_reach();
            replay.set(None);
            copies.set(None);
            sent_at_us.set(crate::clock::now_ms() as i64 * 1000);
            last_ack_us.set(0);
            let id = alice.send_text(Recipient::Group(group), "Hello, everyone!".into());
            current.set(Some(id));
            let lab = lab.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // The database's view: one stored row, one delivery record per member device.
                // A minute of looking: long enough for a student stepping batch by batch.
                for _ in 0..120 {
                    TimeoutFuture::new(500).await;
                    if current.get_untracked() != Some(id) {
                        return;
                    }
                    if let Ok(found) = lab.copies(id).await {
                        copies.set(Some(found));
                    }
                }
            });
        }
    };

    let add_one_more = {
        let lab = devices.lab.clone();
        move |_| {
            let Some(group) = running.with_value(|r| r.as_ref().map(|r| r.group)) else { return };
            let lab = lab.clone();
            wasm_bindgen_futures::spawn_local(async move {
                refusal.set(Some(match lab.start_crowd(group, 1, 0, BACK_AFTER_MS).await {
                    Ok(_) => "Added: the group was below the cap. At 1,024 the server refuses.".into(),
                    Err(e) => format!("The server refused: {e}"),
                }));
            });
        }
    };

    let reset = {
        let (model, lab, pace) = (model.clone(), devices.lab.clone(), devices.pace);
        move || {
            let (model, lab) = (model.clone(), lab.clone());
            async move {
                pace.set(Pace::Live).await?;
                if let Some(old) = running.get_value() {
                    lab.stop_crowd(old.crowd).await.map_err(|e| format!("Could not stop the members: {e}"))?;
                    running.set_value(None);
                }
                model.borrow_mut().reset(0, None);
                replay.set(None);
                ready.set(false);
                current.set(None);
                copies.set(None);
                refusal.set(None);
                capped.set(None);
                status.set(NO_GROUP.into());
                Ok("Reset: the simulated members are disconnected and gone, the grid is empty, and the pipeline runs \
                    live. Pick a size and start a group again."
                    .to_string())
            }
        }
    };

    // The guided path's step: a group message reached every member.
    if let Some(moments) = guide_moments() {
        Effect::new(move || {
            let c = counts.get();
            if current.get().is_some() && c.members > 1 && c.delivered + c.queued >= c.members - 1 {
                moments.fanned_out.set(true);
            }
        });
    }

    let progress = {
        let all = devices.alice.signals.progress;
        move || {
            let id = current.get()?;
            all.with(|p| p.get(&id).copied())
        }
    };
    let times = StoredValue::new_local((sent_at_us, last_ack_us));
    let rate = move || {
        let delivered = counts.get().delivered;
        let (start, last) = times.with_value(|(s, l)| (s.get(), l.get()));
        if last == 0 {
            return None;
        }
        let seconds = (last - start) as f64 / 1e6;
        (seconds > 0.0).then(|| (delivered as f64 / seconds, seconds * 1000.0))
    };

    view! {
        <div class="fanout-lab" role="group" aria-labelledby="fanout-lab-title">
            <h3 id="fanout-lab-title">"Fan out to a real group"</h3>
            <LabReset lab="the fan-out lab" first="group-size" reset />
            <div class="controls" role="group" aria-label="Group set-up">
                <label for="group-size">"Group size"</label>
                <input id="group-size" type="number" min="2" max=MAX_GROUP_MEMBERS.to_string() inputmode="numeric"
                    prop:value=move || size.get().to_string()
                    aria-describedby="fanout-capped"
                    on:change=move |e| {
                        let input = event_target::<web_sys::HtmlInputElement>(&e);
                        let asked: usize = input.value().trim().parse().unwrap_or(MAX_GROUP_MEMBERS);
                        let members = asked.clamp(2, MAX_GROUP_MEMBERS);
                        input.set_value(&members.to_string());
                        size.set(members);
                        capped.set(size_note(asked, members));
                        offline.update(|o| *o = (*o).min(members - 1));
                    } />
                <label for="offline-members">"Offline at start"</label>
                <input id="offline-members" type="number" min="0" inputmode="numeric"
                    prop:value=move || offline.get().to_string()
                    prop:max=move || (size.get() - 1).to_string()
                    on:change=move |e| {
                        let input = event_target::<web_sys::HtmlInputElement>(&e);
                        let asked: usize = input.value().trim().parse().unwrap_or(0);
                        let most = size.get_untracked() - 1;
                        input.set_value(&asked.min(most).to_string());
                        offline.set(asked.min(most));
                        capped.set((asked > most).then(|| {
                            format!("You asked for {asked} offline: a group of {} has {most} members besides Alice, so {most} start offline.", most + 1)
                        }));
                    } />
                <button type="button" on:click=start>"Start the group"</button>
            </div>
            <p id="fanout-capped" class="fanout-capped" data-testid="fanout-capped" aria-live="polite">
                {move || capped.get()}
            </p>
            <p class="fanout-status" role="status" data-testid="fanout-status" data-ready=move || ready.get().to_string()>
                {move || status.get()}
            </p>
            <div class="controls">
                <button type="button" on:click=send disabled=move || !ready.get()>"Send to the group"</button>
                <button type="button" on:click=add_one_more disabled=move || !ready.get()>
                    "Add one more member"
                </button>
            </div>
            {move || refusal.get().map(|r| view! { <p class="refusal" role="alert" data-testid="fanout-refusal">{r}</p> })}
            <PaceControl pace=devices.pace place="fanout"
                stepping="Here one step commits and pushes one fan-out batch: the next 256 members get their delivery \
                          records and their pushes together, so after a step for the commit and one for the look-up, a group of 1,024 arrives in four." />
            <FanOutFigures copies progress=Signal::derive(progress) counts rate=Signal::derive(rate)
                sent=Signal::derive(move || current.get().is_some()) />
            <MemberGrid model=model.clone() counts />
            <p class="grid-summary" data-testid="grid-summary">
                {move || {
                    let c = counts.get();
                    let have = if current.get().is_some() { c.delivered + 1 } else { 0 };
                    format!(
                        "{} members · {} online · {} of {} members have the message (the sender and {} recipients whose phones acknowledged it) · {} read · {} held offline",
                        c.members, c.online, have, c.members, c.delivered, c.read, c.queued
                    )
                }}
            </p>
            <ReplayControl place="fanout" title="Replay the fan-out" run="for this group message"
                shows="The grid and the counts under it show that instant."
                count=Signal::derive(move || counts.get().events)
                words=move |k| grid.with_value(|m| m.borrow().step_words(k)) replay />
            <ul class="grid-legend" aria-label="What the cells mean">
                <li><span class="swatch swatch-offline" aria-hidden="true"></span>"offline, nothing yet"</li>
                <li><span class="swatch swatch-idle" aria-hidden="true"></span>"online, nothing yet"</li>
                <li><span class="swatch swatch-queued" aria-hidden="true"></span>"held in the member's inbox (offline)"</li>
                <li><span class="swatch swatch-delivered" aria-hidden="true"></span>"delivered ✓✓, not read yet: solid grey"</li>
                <li><span class="swatch swatch-read" aria-hidden="true">"✓"</span>"read ✓✓ + read: blue with a white tick"</li>
            </ul>
        </div>
    }
}

/// What happened to a group size outside 2 to 1,024, in words (`None` inside).
fn size_note(asked: usize, members: usize) -> Option<String> {
    if asked > MAX_GROUP_MEMBERS {
        Some(format!(
            "You asked for {asked} members: groups are capped at {MAX_GROUP_MEMBERS} members, as on WhatsApp, and \
             this server refuses more, so the group will have {members}."
        ))
    } else if asked < 2 {
        Some(format!("A group needs Alice and at least one other member, so it will have {members}."))
    } else {
        None
    }
}
