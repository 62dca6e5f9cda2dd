//! The page's entry point: mount the app on `<body>`.

fn main() {
    console_error_panic_hook::set_once();
    // One page, two audiences: `/teach` is the instructor's.
    if bluetick_frontend::teach::is_teach_page() {
        leptos::mount::mount_to_body(bluetick_frontend::teach::TeachApp);
    } else {
        leptos::mount::mount_to_body(bluetick_frontend::app::App);
    }
}
