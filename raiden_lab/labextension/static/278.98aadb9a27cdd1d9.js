"use strict";(self.rspackChunkraiden_lab=self.rspackChunkraiden_lab||[]).push([[278],{80(r,e,a){var o=a(47),n=a.n(o),t=a(680),i=(a.n(t))()(n());i.push([r.id,`.raiden-Panel {
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
.raiden-NodeSummary {
  margin: 4px 0;
  color: var(--jp-ui-font-color1);
}
.raiden-NodeGrid {
  display: grid;
  grid-template-columns: repeat(auto-fill, minmax(52px, 1fr));
  gap: 3px;
}
.raiden-Cell {
  display: flex;
  flex-direction: column;
  align-items: flex-start;
  gap: 2px;
  padding: 2px 3px;
  min-height: 30px;
  border: 1px solid var(--jp-border-color2);
  border-radius: 3px;
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size0);
  cursor: pointer;
  overflow: hidden;
}
.raiden-Cell[aria-pressed='true'] {
  outline: 2px solid var(--jp-brand-color1);
}
.raiden-Cell-fine {
  background: color-mix(in srgb, var(--jp-success-color1) 25%, var(--jp-layout-color1));
}
.raiden-Cell-warm {
  background: color-mix(in srgb, var(--jp-warn-color1) 35%, var(--jp-layout-color1));
}
.raiden-Cell-hot {
  background: color-mix(in srgb, var(--jp-error-color1) 45%, var(--jp-layout-color1));
}
.raiden-Cell-down,
.raiden-Cell-failed {
  border: 2px solid var(--jp-error-color1);
}
.raiden-Cell-off {
  opacity: 0.5;
}
.raiden-Cell-draining {
  border-style: dashed;
}
.raiden-CellName {
  max-width: 100%;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}
.raiden-Dot {
  display: inline-block;
  width: 6px;
  height: 6px;
  margin-right: 1px;
  border-radius: 50%;
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

/* the task stream: a lane per engine grouped by node, the node's heat under its lanes */
.raiden-Stream {
  margin: 4px 0;
}

.raiden-StreamLegend {
  font-size: 11px;
  color: var(--jp-ui-font-color2);
}

.raiden-StreamKey {
  white-space: nowrap;
}

.raiden-StreamPicture {
  display: block;
  background: var(--jp-layout-color2);
}

.raiden-Stream-retried,
.raiden-Stream-interrupted,
.raiden-Stream-timed-out {
  opacity: 0.45;
}

.raiden-Stream-error {
  stroke: #b71c1c;
  stroke-width: 1.5;
}
`,""]),a.d(e,{},{A:i})},680(r){r.exports=function(r){var e=[];return e.toString=function(){return this.map(function(e){var a="",o=void 0!==e[5];return e[4]&&(a+="@supports (".concat(e[4],") {")),e[2]&&(a+="@media ".concat(e[2]," {")),o&&(a+="@layer".concat(e[5].length>0?" ".concat(e[5]):""," {")),a+=r(e),o&&(a+="}"),e[2]&&(a+="}"),e[4]&&(a+="}"),a}).join("")},e.i=function(r,a,o,n,t){"string"==typeof r&&(r=[[null,r,void 0]]);var i={};if(o)for(var d=0;d<this.length;d++){var l=this[d][0];null!=l&&(i[l]=!0)}for(var c=0;c<r.length;c++){var s=[].concat(r[c]);o&&i[s[0]]||(void 0!==t&&(void 0===s[5]||(s[1]="@layer".concat(s[5].length>0?" ".concat(s[5]):""," {").concat(s[1],"}")),s[5]=t),a&&(s[2]&&(s[1]="@media ".concat(s[2]," {").concat(s[1],"}")),s[2]=a),n&&(s[4]?(s[1]="@supports (".concat(s[4],") {").concat(s[1],"}"),s[4]=n):s[4]="".concat(n)),e.push(s))}},e}},47(r){r.exports=function(r){return r[1]}},197(r,e,a){a.r(e);var o=a(318),n=a.n(o),t=a(239),i=a.n(t),d=a(997),l=a.n(d),c=a(937),s=a.n(c),p=a(130),u=a.n(p),f=a(415),v=a.n(f),m=a(80),g={};g.styleTagTransform=v(),g.setAttributes=s(),g.insert=l().bind(null,"head"),g.domAPI=i(),g.insertStyleElement=u(),n()(m.A,g);let x=m.A&&m.A.locals?m.A.locals:void 0;a.d(e,{},{default:x})},318(r){var e=[];function a(r){for(var a=-1,o=0;o<e.length;o++)if(e[o].identifier===r){a=o;break}return a}function o(r,o){for(var n={},t=[],i=0;i<r.length;i++){var d=r[i],l=o.base?d[0]+o.base:d[0],c=n[l]||0,s="".concat(l," ").concat(c);n[l]=c+1;var p=a(s),u={css:d[1],media:d[2],sourceMap:d[3],supports:d[4],layer:d[5]};if(-1!==p)e[p].references++,e[p].updater(u);else{var f=function(r,e){var a=e.domAPI(e);return a.update(r),function(e){e?(e.css!==r.css||e.media!==r.media||e.sourceMap!==r.sourceMap||e.supports!==r.supports||e.layer!==r.layer)&&a.update(r=e):a.remove()}}(u,o);o.byIndex=i,e.splice(i,0,{identifier:s,updater:f,references:1})}t.push(s)}return t}r.exports=function(r,n){var t=o(r=r||[],n=n||{});return function(r){r=r||[];for(var i=0;i<t.length;i++){var d=a(t[i]);e[d].references--}for(var l=o(r,n),c=0;c<t.length;c++){var s=a(t[c]);0===e[s].references&&(e[s].updater(),e.splice(s,1))}t=l}}},997(r){var e={};r.exports=function(r,a){var o=function(r){if(void 0===e[r]){var a=document.querySelector(r);if(window.HTMLIFrameElement&&a instanceof window.HTMLIFrameElement)try{a=a.contentDocument.head}catch(r){a=null}e[r]=a}return e[r]}(r);if(!o)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");o.appendChild(a)}},130(r){r.exports=function(r){var e=document.createElement("style");return r.setAttributes(e,r.attributes),r.insert(e,r.options),e}},937(r,e,a){r.exports=function(r){var e=a.nc;e&&r.setAttribute("nonce",e)}},239(r){r.exports=function(r){if("u"<typeof document)return{update:function(){},remove:function(){}};var e=r.insertStyleElement(r);return{update:function(a){var o,n,t;o="",a.supports&&(o+="@supports (".concat(a.supports,") {")),a.media&&(o+="@media ".concat(a.media," {")),(n=void 0!==a.layer)&&(o+="@layer".concat(a.layer.length>0?" ".concat(a.layer):""," {")),o+=a.css,n&&(o+="}"),a.media&&(o+="}"),a.supports&&(o+="}"),(t=a.sourceMap)&&"u">typeof btoa&&(o+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(t))))," */")),r.styleTagTransform(o,e,r.options)},remove:function(){var r;null===(r=e).parentNode||r.parentNode.removeChild(r)}}}},415(r){r.exports=function(r,e){if(e.styleSheet)e.styleSheet.cssText=r;else{for(;e.firstChild;)e.removeChild(e.firstChild);e.appendChild(document.createTextNode(r))}}}}]);