"use strict";(self.rspackChunkraiden_lab=self.rspackChunkraiden_lab||[]).push([[278],{80(e,r,a){var n=a(47),o=a.n(n),t=a(680),i=(a.n(t))()(o());i.push([e.id,`.raiden-Panel {
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
.raiden-Node-off {
  opacity: 0.6;
}
.raiden-Node-draining {
  border-style: dashed;
}
.raiden-PowerRow {
  display: flex;
  gap: 4px;
  align-items: center;
  margin-top: 4px;
}
.raiden-PowerState {
  flex: 1;
  color: var(--jp-ui-font-color2);
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

.raiden-SeatTable {
  border-collapse: collapse;
  font-size: var(--jp-ui-font-size0);
}

.raiden-SeatTable th,
.raiden-SeatTable td {
  padding: 1px 4px;
  text-align: right;
}

.raiden-SeatTable td:first-child,
.raiden-SeatTable th:first-child {
  text-align: left;
}

.raiden-SeatSummary,
.raiden-SeatNone {
  margin: 6px 0;
}
`,""]),a.d(r,{},{A:i})},680(e){e.exports=function(e){var r=[];return r.toString=function(){return this.map(function(r){var a="",n=void 0!==r[5];return r[4]&&(a+="@supports (".concat(r[4],") {")),r[2]&&(a+="@media ".concat(r[2]," {")),n&&(a+="@layer".concat(r[5].length>0?" ".concat(r[5]):""," {")),a+=e(r),n&&(a+="}"),r[2]&&(a+="}"),r[4]&&(a+="}"),a}).join("")},r.i=function(e,a,n,o,t){"string"==typeof e&&(e=[[null,e,void 0]]);var i={};if(n)for(var d=0;d<this.length;d++){var s=this[d][0];null!=s&&(i[s]=!0)}for(var c=0;c<e.length;c++){var l=[].concat(e[c]);n&&i[l[0]]||(void 0!==t&&(void 0===l[5]||(l[1]="@layer".concat(l[5].length>0?" ".concat(l[5]):""," {").concat(l[1],"}")),l[5]=t),a&&(l[2]&&(l[1]="@media ".concat(l[2]," {").concat(l[1],"}")),l[2]=a),o&&(l[4]?(l[1]="@supports (".concat(l[4],") {").concat(l[1],"}"),l[4]=o):l[4]="".concat(o)),r.push(l))}},r}},47(e){e.exports=function(e){return e[1]}},197(e,r,a){a.r(r);var n=a(318),o=a.n(n),t=a(239),i=a.n(t),d=a(997),s=a.n(d),c=a(937),l=a.n(c),p=a(130),u=a.n(p),f=a(415),v=a.n(f),g=a(80),m={};m.styleTagTransform=v(),m.setAttributes=l(),m.insert=s().bind(null,"head"),m.domAPI=i(),m.insertStyleElement=u(),o()(g.A,m);let h=g.A&&g.A.locals?g.A.locals:void 0;a.d(r,{},{default:h})},318(e){var r=[];function a(e){for(var a=-1,n=0;n<r.length;n++)if(r[n].identifier===e){a=n;break}return a}function n(e,n){for(var o={},t=[],i=0;i<e.length;i++){var d=e[i],s=n.base?d[0]+n.base:d[0],c=o[s]||0,l="".concat(s," ").concat(c);o[s]=c+1;var p=a(l),u={css:d[1],media:d[2],sourceMap:d[3],supports:d[4],layer:d[5]};if(-1!==p)r[p].references++,r[p].updater(u);else{var f=function(e,r){var a=r.domAPI(r);return a.update(e),function(r){r?(r.css!==e.css||r.media!==e.media||r.sourceMap!==e.sourceMap||r.supports!==e.supports||r.layer!==e.layer)&&a.update(e=r):a.remove()}}(u,n);n.byIndex=i,r.splice(i,0,{identifier:l,updater:f,references:1})}t.push(l)}return t}e.exports=function(e,o){var t=n(e=e||[],o=o||{});return function(e){e=e||[];for(var i=0;i<t.length;i++){var d=a(t[i]);r[d].references--}for(var s=n(e,o),c=0;c<t.length;c++){var l=a(t[c]);0===r[l].references&&(r[l].updater(),r.splice(l,1))}t=s}}},997(e){var r={};e.exports=function(e,a){var n=function(e){if(void 0===r[e]){var a=document.querySelector(e);if(window.HTMLIFrameElement&&a instanceof window.HTMLIFrameElement)try{a=a.contentDocument.head}catch(e){a=null}r[e]=a}return r[e]}(e);if(!n)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");n.appendChild(a)}},130(e){e.exports=function(e){var r=document.createElement("style");return e.setAttributes(r,e.attributes),e.insert(r,e.options),r}},937(e,r,a){e.exports=function(e){var r=a.nc;r&&e.setAttribute("nonce",r)}},239(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var r=e.insertStyleElement(e);return{update:function(a){var n,o,t;n="",a.supports&&(n+="@supports (".concat(a.supports,") {")),a.media&&(n+="@media ".concat(a.media," {")),(o=void 0!==a.layer)&&(n+="@layer".concat(a.layer.length>0?" ".concat(a.layer):""," {")),n+=a.css,o&&(n+="}"),a.media&&(n+="}"),a.supports&&(n+="}"),(t=a.sourceMap)&&"u">typeof btoa&&(n+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(t))))," */")),e.styleTagTransform(n,r,e.options)},remove:function(){var e;null===(e=r).parentNode||e.parentNode.removeChild(e)}}}},415(e){e.exports=function(e,r){if(r.styleSheet)r.styleSheet.cssText=e;else{for(;r.firstChild;)r.removeChild(r.firstChild);r.appendChild(document.createTextNode(e))}}}}]);