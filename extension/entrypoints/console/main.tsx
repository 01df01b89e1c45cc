import '../../utils/page.css';
import './console.css';
import { render } from 'preact';
import { locale, t } from '../../utils/i18n';
import { Console } from './Console';

document.documentElement.lang = locale();
document.title = t('console.title');
render(<Console />, document.getElementById('app')!);
