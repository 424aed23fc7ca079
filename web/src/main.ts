import { createApp } from 'vue';
import App from './App.vue';
import { describeError } from './errors';
import { lang } from './i18n';
import { describe, reportError, resumeSession } from './session';
import './style.css';

describe.error = describeError;
document.documentElement.lang = lang.value === 'zh' ? 'zh-CN' : 'en';
// Whatever slipped past a page's own handling is shown, not left in the console.
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  reportError(event.reason);
});

const app = createApp(App);
app.config.errorHandler = (error) => reportError(error);
resumeSession();
app.mount('#app');
