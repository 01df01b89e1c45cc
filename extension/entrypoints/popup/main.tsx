import '../../utils/page.css';
import './popup.css';
import { render } from 'preact';
import { locale } from '../../utils/i18n';
import { Popup } from './Popup';

document.documentElement.lang = locale();
render(<Popup />, document.getElementById('app')!);
