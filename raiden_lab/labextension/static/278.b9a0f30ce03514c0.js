"use strict";(self.rspackChunkraiden_lab=self.rspackChunkraiden_lab||[]).push([[278],{80(e,r,o){var n=o(47),a=o.n(n),t=o(680),i=(o.n(t))()(a());i.push([e.id,`.raiden-Panel {
  padding: 8px;
  overflow-y: auto;
  font-size: var(--jp-ui-font-size1);
  background: var(--jp-layout-color1);
}
.raiden-Header {
  display: flex;
  flex-wrap: wrap;
  gap: 8px;
  align-items: baseline;
  margin-bottom: 6px;
}
.raiden-Job {
  flex-basis: 100%;
  font-size: var(--jp-ui-font-size0);
  color: var(--jp-ui-font-color2);
}
.raiden-Name {
  font-weight: bold;
}
.raiden-State-running {
  color: var(--jp-success-color1);
}
.raiden-State-degraded {
  color: var(--jp-warn-color1);
}
.raiden-State-stopped {
  color: var(--jp-error-color1);
}
.raiden-Buttons {
  display: flex;
  gap: 4px;
  flex-wrap: wrap;
  margin-bottom: 6px;
}
.raiden-Message {
  white-space: pre-wrap;
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
}
.raiden-Error {
  color: var(--jp-error-color1);
}
.raiden-Node {
  border: 1px solid var(--jp-border-color2);
  border-radius: 4px;
  padding: 6px;
  margin: 4px 0;
}
.raiden-Node-down,
.raiden-Node-failed {
  border-color: var(--jp-error-color1);
}
.raiden-NodeTitle {
  font-weight: bold;
}
.raiden-Temp-fine {
  color: var(--jp-success-color1);
}
.raiden-Temp-warm {
  color: var(--jp-warn-color1);
}
.raiden-Temp-hot,
.raiden-Throttled-now,
.raiden-Problem {
  color: var(--jp-error-color1);
}
.raiden-Engine {
  display: inline-block;
  width: 12px;
  height: 12px;
  margin: 1px;
  border-radius: 2px;
}
.raiden-Engine-idle {
  background: var(--jp-success-color1);
}
.raiden-Engine-busy {
  background: var(--jp-warn-color1);
}
.raiden-Engine-starting {
  background: var(--jp-layout-color3);
}
.raiden-Engine-dead {
  background: var(--jp-error-color1);
}
.raiden-Events {
  padding-left: 16px;
  font-size: var(--jp-ui-font-size0);
}

.raiden-Buttons button:disabled {
  opacity: 0.45;
  cursor: default;
}

.raiden-Grid {
  border-collapse: collapse;
  font-size: var(--jp-ui-font-size0);
}

.raiden-Grid th,
.raiden-Grid td {
  padding: 1px 3px;
  text-align: center;
}

.raiden-Result-passed {
  color: var(--jp-success-color1, #2e7d32);
}

.raiden-Result-failed {
  color: var(--jp-error-color1, #c62828);
}

.raiden-Class {
  overflow-x: auto;
}
`,""]),o.d(r,{},{A:i})},680(e){e.exports=function(e){var r=[];return r.toString=function(){return this.map(function(r){var o="",n=void 0!==r[5];return r[4]&&(o+="@supports (".concat(r[4],") {")),r[2]&&(o+="@media ".concat(r[2]," {")),n&&(o+="@layer".concat(r[5].length>0?" ".concat(r[5]):""," {")),o+=e(r),n&&(o+="}"),r[2]&&(o+="}"),r[4]&&(o+="}"),o}).join("")},r.i=function(e,o,n,a,t){"string"==typeof e&&(e=[[null,e,void 0]]);var i={};if(n)for(var c=0;c<this.length;c++){var s=this[c][0];null!=s&&(i[s]=!0)}for(var d=0;d<e.length;d++){var l=[].concat(e[d]);n&&i[l[0]]||(void 0!==t&&(void 0===l[5]||(l[1]="@layer".concat(l[5].length>0?" ".concat(l[5]):""," {").concat(l[1],"}")),l[5]=t),o&&(l[2]&&(l[1]="@media ".concat(l[2]," {").concat(l[1],"}")),l[2]=o),a&&(l[4]?(l[1]="@supports (".concat(l[4],") {").concat(l[1],"}"),l[4]=a):l[4]="".concat(a)),r.push(l))}},r}},47(e){e.exports=function(e){return e[1]}},197(e,r,o){o.r(r);var n=o(318),a=o.n(n),t=o(239),i=o.n(t),c=o(997),s=o.n(c),d=o(937),l=o.n(d),p=o(130),u=o.n(p),f=o(415),v=o.n(f),m=o(80),g={};g.styleTagTransform=v(),g.setAttributes=l(),g.insert=s().bind(null,"head"),g.domAPI=i(),g.insertStyleElement=u(),a()(m.A,g);let h=m.A&&m.A.locals?m.A.locals:void 0;o.d(r,{},{default:h})},318(e){var r=[];function o(e){for(var o=-1,n=0;n<r.length;n++)if(r[n].identifier===e){o=n;break}return o}function n(e,n){for(var a={},t=[],i=0;i<e.length;i++){var c=e[i],s=n.base?c[0]+n.base:c[0],d=a[s]||0,l="".concat(s," ").concat(d);a[s]=d+1;var p=o(l),u={css:c[1],media:c[2],sourceMap:c[3],supports:c[4],layer:c[5]};if(-1!==p)r[p].references++,r[p].updater(u);else{var f=function(e,r){var o=r.domAPI(r);return o.update(e),function(r){r?(r.css!==e.css||r.media!==e.media||r.sourceMap!==e.sourceMap||r.supports!==e.supports||r.layer!==e.layer)&&o.update(e=r):o.remove()}}(u,n);n.byIndex=i,r.splice(i,0,{identifier:l,updater:f,references:1})}t.push(l)}return t}e.exports=function(e,a){var t=n(e=e||[],a=a||{});return function(e){e=e||[];for(var i=0;i<t.length;i++){var c=o(t[i]);r[c].references--}for(var s=n(e,a),d=0;d<t.length;d++){var l=o(t[d]);0===r[l].references&&(r[l].updater(),r.splice(l,1))}t=s}}},997(e){var r={};e.exports=function(e,o){var n=function(e){if(void 0===r[e]){var o=document.querySelector(e);if(window.HTMLIFrameElement&&o instanceof window.HTMLIFrameElement)try{o=o.contentDocument.head}catch(e){o=null}r[e]=o}return r[e]}(e);if(!n)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");n.appendChild(o)}},130(e){e.exports=function(e){var r=document.createElement("style");return e.setAttributes(r,e.attributes),e.insert(r,e.options),r}},937(e,r,o){e.exports=function(e){var r=o.nc;r&&e.setAttribute("nonce",r)}},239(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var r=e.insertStyleElement(e);return{update:function(o){var n,a,t;n="",o.supports&&(n+="@supports (".concat(o.supports,") {")),o.media&&(n+="@media ".concat(o.media," {")),(a=void 0!==o.layer)&&(n+="@layer".concat(o.layer.length>0?" ".concat(o.layer):""," {")),n+=o.css,a&&(n+="}"),o.media&&(n+="}"),o.supports&&(n+="}"),(t=o.sourceMap)&&"u">typeof btoa&&(n+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(t))))," */")),e.styleTagTransform(n,r,e.options)},remove:function(){var e;null===(e=r).parentNode||e.parentNode.removeChild(e)}}}},415(e){e.exports=function(e,r){if(r.styleSheet)r.styleSheet.cssText=e;else{for(;r.firstChild;)r.removeChild(r.firstChild);r.appendChild(document.createTextNode(e))}}}}]);