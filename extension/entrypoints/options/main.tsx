import '../../utils/page.css';
import './options.css';
import { render } from 'preact';
import { locale, t } from '../../utils/i18n';
import { Options } from './Options';

document.documentElement.lang = locale();
document.title = t('options.title');
render(<Options />, document.getElementById('app')!);
