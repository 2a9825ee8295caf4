import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { createHost } from "./ipc";
import { setHost } from "./lib/app/host";
import { initTheme } from "./lib/app/theme.svelte";

initTheme();
const host = await createHost();
setHost(host);
performance.mark("pushdeck:host-ready");
mount(App, { target: document.getElementById("app")! });
