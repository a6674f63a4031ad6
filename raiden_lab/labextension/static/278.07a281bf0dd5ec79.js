"use strict";(self.rspackChunkraiden_lab=self.rspackChunkraiden_lab||[]).push([[278],{80(e,r,n){var o=n(47),a=n.n(o),t=n(680),i=(n.n(t))()(a());i.push([e.id,`.raiden-Panel {
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
`,""]),n.d(r,{},{A:i})},680(e){e.exports=function(e){var r=[];return r.toString=function(){return this.map(function(r){var n="",o=void 0!==r[5];return r[4]&&(n+="@supports (".concat(r[4],") {")),r[2]&&(n+="@media ".concat(r[2]," {")),o&&(n+="@layer".concat(r[5].length>0?" ".concat(r[5]):""," {")),n+=e(r),o&&(n+="}"),r[2]&&(n+="}"),r[4]&&(n+="}"),n}).join("")},r.i=function(e,n,o,a,t){"string"==typeof e&&(e=[[null,e,void 0]]);var i={};if(o)for(var c=0;c<this.length;c++){var s=this[c][0];null!=s&&(i[s]=!0)}for(var d=0;d<e.length;d++){var l=[].concat(e[d]);o&&i[l[0]]||(void 0!==t&&(void 0===l[5]||(l[1]="@layer".concat(l[5].length>0?" ".concat(l[5]):""," {").concat(l[1],"}")),l[5]=t),n&&(l[2]&&(l[1]="@media ".concat(l[2]," {").concat(l[1],"}")),l[2]=n),a&&(l[4]?(l[1]="@supports (".concat(l[4],") {").concat(l[1],"}"),l[4]=a):l[4]="".concat(a)),r.push(l))}},r}},47(e){e.exports=function(e){return e[1]}},197(e,r,n){n.r(r);var o=n(318),a=n.n(o),t=n(239),i=n.n(t),c=n(997),s=n.n(c),d=n(937),l=n.n(d),p=n(130),u=n.n(p),f=n(415),v=n.n(f),m=n(80),g={};g.styleTagTransform=v(),g.setAttributes=l(),g.insert=s().bind(null,"head"),g.domAPI=i(),g.insertStyleElement=u(),a()(m.A,g);let h=m.A&&m.A.locals?m.A.locals:void 0;n.d(r,{},{default:h})},318(e){var r=[];function n(e){for(var n=-1,o=0;o<r.length;o++)if(r[o].identifier===e){n=o;break}return n}function o(e,o){for(var a={},t=[],i=0;i<e.length;i++){var c=e[i],s=o.base?c[0]+o.base:c[0],d=a[s]||0,l="".concat(s," ").concat(d);a[s]=d+1;var p=n(l),u={css:c[1],media:c[2],sourceMap:c[3],supports:c[4],layer:c[5]};if(-1!==p)r[p].references++,r[p].updater(u);else{var f=function(e,r){var n=r.domAPI(r);return n.update(e),function(r){r?(r.css!==e.css||r.media!==e.media||r.sourceMap!==e.sourceMap||r.supports!==e.supports||r.layer!==e.layer)&&n.update(e=r):n.remove()}}(u,o);o.byIndex=i,r.splice(i,0,{identifier:l,updater:f,references:1})}t.push(l)}return t}e.exports=function(e,a){var t=o(e=e||[],a=a||{});return function(e){e=e||[];for(var i=0;i<t.length;i++){var c=n(t[i]);r[c].references--}for(var s=o(e,a),d=0;d<t.length;d++){var l=n(t[d]);0===r[l].references&&(r[l].updater(),r.splice(l,1))}t=s}}},997(e){var r={};e.exports=function(e,n){var o=function(e){if(void 0===r[e]){var n=document.querySelector(e);if(window.HTMLIFrameElement&&n instanceof window.HTMLIFrameElement)try{n=n.contentDocument.head}catch(e){n=null}r[e]=n}return r[e]}(e);if(!o)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");o.appendChild(n)}},130(e){e.exports=function(e){var r=document.createElement("style");return e.setAttributes(r,e.attributes),e.insert(r,e.options),r}},937(e,r,n){e.exports=function(e){var r=n.nc;r&&e.setAttribute("nonce",r)}},239(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var r=e.insertStyleElement(e);return{update:function(n){var o,a,t;o="",n.supports&&(o+="@supports (".concat(n.supports,") {")),n.media&&(o+="@media ".concat(n.media," {")),(a=void 0!==n.layer)&&(o+="@layer".concat(n.layer.length>0?" ".concat(n.layer):""," {")),o+=n.css,a&&(o+="}"),n.media&&(o+="}"),n.supports&&(o+="}"),(t=n.sourceMap)&&"u">typeof btoa&&(o+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(t))))," */")),e.styleTagTransform(o,r,e.options)},remove:function(){var e;null===(e=r).parentNode||e.parentNode.removeChild(e)}}}},415(e){e.exports=function(e,r){if(r.styleSheet)r.styleSheet.cssText=e;else{for(;r.firstChild;)r.removeChild(r.firstChild);r.appendChild(document.createTextNode(e))}}}}]);